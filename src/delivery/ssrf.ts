// The SSRF guard: decides which addresses a hook may reach, at save time and again at every send.
// Sends connect only to addresses this guard has checked (`pinnedLookup`), so a DNS answer that
// changes between the check and the connection (rebinding) cannot slip a private address in.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { UrlPolicy } from '../domain/hooks';
import { classifyAddress, METADATA_HOSTNAMES } from './address-class';

export { classifyAddress } from './address-class';

export const LOCALHOST_REFUSED = 'Requests to localhost are not allowed';
export const LOCAL_NETWORK_REFUSED = 'Requests to the local network are not allowed';

export interface SsrfOptions {
  allowLocalRequests: boolean;
  /** Host names (exact, case-insensitive) and addresses/CIDRs that may be reached even if local. */
  allowlist: readonly string[];
  /** Name resolution (the system resolver by default, as connections use). */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
  /** How long a save waits for DNS before deciding without it (default 2 s). */
  saveCheckDnsTimeoutMs?: number;
}

const SAVE_CHECK_DNS_TIMEOUT_MS = 2_000;

/** Thrown through the connection when a send would reach a refused address. */
export class BlockedRequestError extends Error {
  override name = 'BlockedRequestError';
  readonly code = 'HOOKGATE_BLOCKED_REQUEST';
}

export class SsrfGuard implements UrlPolicy {
  private readonly allowedHosts: Set<string>;
  private readonly allowedRanges: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  private readonly resolve: (hostname: string) => Promise<LookupAddress[]>;

  constructor(private readonly options: SsrfOptions) {
    this.resolve = options.resolve ?? resolveAll;
    this.allowedHosts = new Set();
    this.allowedRanges = [];
    for (const entry of options.allowlist) {
      const text = entry.trim().toLowerCase();
      if (!text) continue;
      if (ipaddr.isValidCIDR(text)) this.allowedRanges.push(ipaddr.parseCIDR(text));
      else if (ipaddr.isValid(text)) {
        const address = ipaddr.parse(text);
        this.allowedRanges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      } else this.allowedHosts.add(text.replace(/\.$/, ''));
    }
  }

  /** Save-time check (the HookService's UrlPolicy): the reason a URL is refused, or null. */
  async check(url: string): Promise<string | null> {
    // `{key}` placeholders are filled at send time; a placeholder in the host is checked then.
    const host = hostOf(url.replace(/\{[^{}]*\}/g, 'x'));
    if (host === null) return null; // not a URL at all: the URL rules report that
    const early = this.checkHost(host);
    if (early !== undefined) return early;
    // Unresolvable now, or a resolver that drops queries (its retry takes 5 s): a save must not
    // hang on it, and nothing is lost by deciding without it, since every send checks again.
    const addresses = await withTimeout(this.resolve(host), this.options.saveCheckDnsTimeoutMs ?? SAVE_CHECK_DNS_TIMEOUT_MS).catch(() => null);
    if (addresses === null) return null;
    return this.checkAddresses(
      host,
      addresses.map((entry) => entry.address),
    );
  }

  /**
   * Send-time check of the URL itself (scheme, literal addresses, metadata names). Host names are
   * resolved and checked by `pinnedLookup` when the connection is made.
   */
  preflight(url: string): string | null {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'Invalid URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'Only allowed schemes are http, https';
    return this.checkHost(hostnameOf(parsed)) ?? null;
  }

  /** `connect.lookup` for undici: resolves, refuses unless every address passes, returns only those. */
  readonly pinnedLookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (addresses) => {
        const refusal = this.checkAddresses(
          hostname,
          addresses.map((entry) => entry.address),
        );
        if (refusal) {
          callback(new BlockedRequestError(refusal), '', 4);
          return;
        }
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (options.all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, wanted);
        else if (wanted[0]) callback(null, wanted[0].address, wanted[0].family);
        else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 4),
    );
  };

  /** Verdict for a host name or literal address; undefined when it must be resolved first. */
  private checkHost(host: string): string | null | undefined {
    const name = host.toLowerCase().replace(/\.$/, '');
    if (METADATA_HOSTNAMES.includes(name)) return LOCAL_NETWORK_REFUSED;
    if (ipaddr.isValid(name)) return this.checkAddresses(name, [name]);
    if (this.options.allowLocalRequests || this.allowedHosts.has(name)) {
      // Still resolved at connection time so a name pointing at a metadata address is refused.
      return undefined;
    }
    if (name === 'localhost' || name.endsWith('.localhost')) return LOCALHOST_REFUSED;
    return undefined;
  }

  private checkAddresses(host: string, addresses: string[]): string | null {
    const name = host.toLowerCase().replace(/\.$/, '');
    for (const address of addresses) {
      const verdict = classifyAddress(address);
      if (verdict === 'metadata') return LOCAL_NETWORK_REFUSED;
      if (verdict === 'public') continue;
      if (this.options.allowLocalRequests || this.allowedHosts.has(name) || this.inAllowedRange(address)) continue;
      return verdict === 'loopback' ? LOCALHOST_REFUSED : LOCAL_NETWORK_REFUSED;
    }
    return null;
  }

  private inAllowedRange(text: string): boolean {
    const address = ipaddr.process(text);
    return this.allowedRanges.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits));
  }
}

/** The URL's host as an address or name (IPv6 without brackets), or null when it does not parse. */
function hostOf(url: string): string | null {
  try {
    return hostnameOf(new URL(url));
  } catch {
    return null;
  }
}

// WHATWG URL parsing already turns `2130706433`, `0x7f.1` and `0177.0.0.1` into `127.0.0.1`,
// the same way the HTTP client will, so odd spellings are judged as the address they mean.
function hostnameOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function resolveAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

/** `promise`, or null once `ms` have passed without it settling. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

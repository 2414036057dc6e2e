// What kind of place an IP address is, for the SSRF guard. IPv6 forms that carry an IPv4 address
// (mapped, compatible, NAT64, 6to4, Teredo) are judged by what they carry too: a gateway or an
// old stack turns `[::127.0.0.1]` or `[64:ff9b::a9fe:a9fe]` into the IPv4 address inside.
import ipaddr from 'ipaddr.js';

export type Verdict = 'public' | 'loopback' | 'local' | 'metadata';

/**
 * Cloud metadata services hand out credentials: refused even when local requests are allowed.
 * All of IPv4 link-local is (AWS, GCP, Azure, ECS `169.254.170.2`, DNS `169.254.169.253`), and
 * AWS's IPv6 block; the others are Alibaba's and Oracle's single addresses.
 */
const METADATA_RANGES: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [
  ipaddr.parseCIDR('169.254.0.0/16'),
  ipaddr.parseCIDR('fd00:ec2::/64'),
  ipaddr.parseCIDR('100.100.100.200/32'),
  ipaddr.parseCIDR('192.0.0.192/32'),
];

/** Host names of metadata services (GCP's two), refused before any lookup. */
export const METADATA_HOSTNAMES: readonly string[] = ['metadata.google.internal', 'metadata.goog'];

const SEVERITY: Record<Verdict, number> = { public: 0, local: 1, loopback: 2, metadata: 3 };

const IPV6_PREFIXES = {
  compatible: ipaddr.parseCIDR('::/96'),
  nat64: ipaddr.parseCIDR('64:ff9b::/96'),
  nat64Local: ipaddr.parseCIDR('64:ff9b:1::/48'),
  sixToFour: ipaddr.parseCIDR('2002::/16'),
  teredo: ipaddr.parseCIDR('2001::/32'),
} as const;

/** Classifies one address (text as ipaddr.js parses it); the worst of it and what it embeds. */
export function classifyAddress(text: string): Verdict {
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv4') return classifyOne(parsed);
  const ipv6 = parsed as ipaddr.IPv6;
  // Any IPv6 form that embeds IPv4 is at best "local" (not plain unicast), and as bad as what it carries.
  return embeddedIPv4(ipv6).reduce<Verdict>((worst, inner) => worse(worst, worse('local', classifyOne(inner))), classifyOne(ipv6));
}

function classifyOne(address: ipaddr.IPv4 | ipaddr.IPv6): Verdict {
  if (METADATA_RANGES.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits))) return 'metadata';
  const range = address.range();
  if (range === 'loopback' || range === 'unspecified') return 'loopback';
  // Anything outside plain unicast (private, link-local, CGNAT, multicast, unique-local,
  // reserved, …) is not the public internet.
  return range === 'unicast' ? 'public' : 'local';
}

/** The IPv4 addresses an IPv6 address carries, by the rule of each transition form. */
export function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4[] {
  const bytes = address.toByteArray();
  const v4 = (offset: number, xor = 0) => new ipaddr.IPv4(bytes.slice(offset, offset + 4).map((byte) => byte ^ xor));
  const inside = (prefix: [ipaddr.IPv4 | ipaddr.IPv6, number]) => address.match(prefix);
  const found: ipaddr.IPv4[] = [];
  if (address.isIPv4MappedAddress()) found.push(address.toIPv4Address());
  // `::` and `::1` are IPv6's own unspecified and loopback, judged as such.
  if (inside(IPV6_PREFIXES.compatible) && address.range() !== 'unspecified' && address.range() !== 'loopback') found.push(v4(12));
  if (inside(IPV6_PREFIXES.nat64) || inside(IPV6_PREFIXES.nat64Local)) found.push(v4(12));
  if (inside(IPV6_PREFIXES.sixToFour)) found.push(v4(2));
  // Teredo: the server's address in bits 32-63, the client's (obfuscated) in the last 32.
  if (inside(IPV6_PREFIXES.teredo)) found.push(v4(4), v4(12, 0xff));
  return found;
}

function worse(a: Verdict, b: Verdict): Verdict {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

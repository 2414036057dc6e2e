// Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
import { sign } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { parseEd25519Secret } from '../domain/signing';

const STANDARD_PREFIX = 'whsec_';

/**
 * The key the library expects (base64). The spec makes a plain secret's key its UTF-8 bytes, so it
 * is base64-encoded here; a `whsec_` secret already is a Standard Webhooks key and passes as it is.
 */
export function standardWebhooksKey(secret: string): string {
  return secret.startsWith(STANDARD_PREFIX) ? secret : Buffer.from(secret, 'utf8').toString('base64');
}

export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature'?: string;
}

/**
 * Headers for one attempt: the id is the delivery's, the timestamp (whole seconds) is `now`, and
 * `webhook-signature` holds one signature per secret, space-separated, in the order given.
 */
export function signatureHeaders(id: string, now: Date, body: string, secrets: readonly string[]): SignatureHeaders {
  const seconds = Math.floor(now.getTime() / 1000);
  const headers: SignatureHeaders = { 'webhook-id': id, 'webhook-timestamp': String(seconds) };
  const signatures = secrets.map((secret) => signature(id, seconds, body, secret));
  if (signatures.length > 0) headers['webhook-signature'] = signatures.join(' ');
  return headers;
}

/** `v1a,…` (Ed25519 over `id.timestamp.body`) for a `whsk_` key, `v1,…` (HMAC-SHA256) otherwise. */
function signature(id: string, seconds: number, body: string, secret: string): string {
  const key = parseEd25519Secret(secret);
  if (key) return `v1a,${sign(null, Buffer.from(`${id}.${seconds}.${body}`, 'utf8'), key.privateKey).toString('base64')}`;
  return new Webhook(standardWebhooksKey(secret)).sign(id, new Date(seconds * 1000), body);
}

// Standard Webhooks signatures (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
import { Webhook } from 'standardwebhooks';

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

/** Headers for one attempt: the id is the delivery's, the timestamp (whole seconds) is `now`. */
export function signatureHeaders(id: string, now: Date, body: string, secret: string | null): SignatureHeaders {
  const seconds = Math.floor(now.getTime() / 1000);
  const headers: SignatureHeaders = { 'webhook-id': id, 'webhook-timestamp': String(seconds) };
  if (secret) headers['webhook-signature'] = new Webhook(standardWebhooksKey(secret)).sign(id, new Date(seconds * 1000), body);
  return headers;
}

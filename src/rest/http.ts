// The plumbing both REST dialects share: reading and parsing bodies, tokens, ids, and writing answers.
// Plain node req/res on purpose: a Fetch Request per call would be work for nothing on the hot path.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDatabaseId, MAX_BODY_BYTES } from '../domain/limits';
import { jsonTooDeep, MAX_JSON_DEPTH, plainParams } from '../http/json-body';

export { MAX_BODY_BYTES };

/** Something wrong with the request itself, before any domain rule is asked. */
export class BadRequestError extends Error {
  constructor(
    readonly reason: 'malformed_json' | 'not_an_object' | 'too_deep' | 'unsupported_media_type',
    message: string,
  ) {
    super(message);
  }
}

export class PayloadTooLargeError extends Error {
  constructor() {
    super(`The request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
}

/** A parameter missing or of the wrong type, named as the dialect names it (`url`, `is_active`). */
export class ParameterError extends Error {
  constructor(
    readonly param: string,
    readonly problem: 'missing' | 'invalid',
    readonly detail?: string,
  ) {
    super(`${param} is ${problem}`);
  }
}

/** Reads the body (at most 1 MiB) as text; empty when there is none. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > MAX_BODY_BYTES) throw new PayloadTooLargeError();
  if (length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined)) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    // The client went away mid-body: not the database's fault (its ECONNRESET would read as an
    // outage), and no answer is owed. The server logs it at debug level.
    throw new ClientAbortedError(error);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A request body that never arrived whole: the client disconnected. */
export class ClientAbortedError extends Error {
  override name = 'ClientAbortedError';
  constructor(readonly reason: unknown) {
    super('the client closed the request before its body arrived');
  }
}

export type Params = Record<string, unknown>;

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A JSON object body; an empty body is `{}`. Anything else is a 400. */
export function parseJsonObject(text: string): Params {
  if (text.trim() === '') return plainParams();
  // Checked on the text: a 3,000-deep payload would overflow the stack of whatever walks it next.
  if (jsonTooDeep(text)) throw new BadRequestError('too_deep', `The request body nests more than ${MAX_JSON_DEPTH} levels deep`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError('malformed_json', 'The request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError('not_an_object', 'The request body must be a JSON object');
  }
  return plainParams(Object.entries(value));
}

/** The body of a `/v1` request: JSON whatever the content type says (curl -d sends form's). */
export async function readJsonBody(req: IncomingMessage): Promise<Params> {
  return parseJsonObject(await readBody(req));
}

/**
 * GitLab-style parameters: the query string, then the body (JSON or form fields) on top, as Rails
 * merges them. A form-typed body that is really JSON (`curl -d '{…}'`) is read as JSON.
 */
export async function readMergedParams(req: IncomingMessage, query: URLSearchParams | null, withBody: boolean): Promise<Params> {
  const fromQuery: [string, unknown][] = query ? [...query] : [];
  if (!withBody) return plainParams(fromQuery);
  const text = await readBody(req);
  if (text.trim() === '') return plainParams(fromQuery);
  const type = mediaType(req);
  if (type === 'multipart/form-data') throw new BadRequestError('unsupported_media_type', 'multipart bodies are not supported; send JSON or form fields');
  const looksJson = /^\s*[{[]/.test(text);
  const body: Iterable<[string, unknown]> =
    type === 'application/x-www-form-urlencoded' && !looksJson
      ? new URLSearchParams(text)
      : type.endsWith('json') || looksJson
        ? Object.entries(parseJsonObject(text))
        : new URLSearchParams(text);
  // Defined, not assigned: a `__proto__` key is a parameter like any other, never a prototype.
  return plainParams(fromQuery, body);
}

/** The token of `Authorization: <scheme> <token>` for one of the accepted schemes. */
export function authorizationToken(req: IncomingMessage, schemes: readonly string[]): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  if (!schemes.includes(scheme)) return null;
  return header.slice(space + 1).trim() || null;
}

/** A REST id: a positive 32-bit integer written in decimal digits, or null. */
export function parseId(segment: string): number | null {
  if (!/^[0-9]{1,10}$/.test(segment)) return null;
  const id = Number(segment);
  return isDatabaseId(id) ? id : null;
}

export { sendJson, sendJsonText } from '../http/respond';

/**
 * `present` as JSON text, remembered per record. Records from the hook cache are shared and never
 * mutated (a changed hook is read again as a new record), so a hook read a thousand times is
 * presented and serialised once.
 */
export function memoizedJson<R extends object>(present: (record: R) => unknown): (record: R) => string {
  const texts = new WeakMap<R, string>();
  return (record) => {
    let text = texts.get(record);
    if (text === undefined) texts.set(record, (text = JSON.stringify(present(record))));
    return text;
  };
}

export function sendEmpty(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

/** The path and (lazily) the query of a request URL, without building a WHATWG URL. */
export function splitUrl(rawUrl: string | undefined): { pathname: string; search: string } {
  const url = rawUrl ?? '/';
  const mark = url.indexOf('?');
  return mark < 0 ? { pathname: url, search: '' } : { pathname: url.slice(0, mark), search: url.slice(mark + 1) };
}

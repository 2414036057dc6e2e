// The console's only way to the server: named operations (src/console/operations/*.graphql) sent
// to /graphql as persisted operations. `requestBody` is the one place that decides what goes on the
// wire: the document's id from persisted-operations.json (put in the bundle by
// scripts/build-console.mjs), never the document's text.
import { currentToken } from './session';

export type OperationName =
  | 'Viewer'
  | 'Hooks'
  | 'Hook'
  | 'Delivery'
  | 'CreateHook'
  | 'UpdateHook'
  | 'DeleteHook'
  | 'SetUrlVariable'
  | 'DeleteUrlVariable'
  | 'TestHook'
  | 'Redeliver'
  | 'CreateUser'
  | 'CreatePortalSession'
  | 'DeliveryUpdated'
  | 'DeleteCustomHeader'
  | 'RotateHookSecret'
  | 'Deliveries'
  | 'RedeliverFailed';

export interface UserError {
  field: string[] | null;
  message: string;
  code: string;
}

/** A top-level GraphQL error; `code` is `extensions.code` (UNAUTHENTICATED, FORBIDDEN, …). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** The manifest id (sha256 hex of the document text) of each operation, by operation name. */
export function documentId(name: OperationName): string {
  const id = __HOOKGATE_OPERATION_IDS__[name];
  if (!id) throw new Error(`operation ${name} is not in persisted-operations.json`);
  return id;
}

export function requestBody(name: OperationName, variables: object): { documentId: string; operationName: string; variables: object } {
  return { documentId: documentId(name), operationName: name, variables };
}

export function authHeaders(token = currentToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

type Listener = (error: ApiError) => void;
const unauthenticatedListeners = new Set<Listener>();
/** Called when the server refuses the token (expired portal link, token revoked). */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export async function request<T>(name: OperationName, variables: object = {}, token?: string): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...authHeaders(token) },
    body: JSON.stringify(requestBody(name, variables)),
  });
  const result = (await response.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  const first = result.errors?.[0];
  if (first) {
    const error = new ApiError(first.message, first.extensions?.code);
    if (error.code === 'UNAUTHENTICATED' && token === undefined) {
      for (const listener of unauthenticatedListeners) listener(error);
    }
    throw error;
  }
  if (!result.data) throw new ApiError(`The server answered ${response.status}`, undefined);
  return result.data;
}

/** The message of the userErrors entry for an input field (`["input", "url"]` → `url`). */
export function fieldErrors(errors: UserError[]): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const error of errors) {
    const field = error.field?.[error.field.length - 1] ?? '';
    byField[field] = byField[field] ? `${byField[field]} ${error.message}` : error.message;
  }
  return byField;
}

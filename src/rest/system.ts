// GitLab's system hooks API, under `/api/v4/hooks` and `/hooks`: each route parses, calls a
// service, presents. Parameters come from the query string, form fields or JSON alike.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Actor, requireAdmin } from '../domain/actor';
import type { NodeHandler } from '../http/server';
import { authorizationToken, memoizedJson, parseId, readMergedParams, sendEmpty, sendJson, sendJsonText, splitUrl } from './http';
import { methodNotAllowed, type RestDependencies, runRoute } from './routes';
import * as system from './system-presenter';

const PREFIXES = ['/api/v4/hooks', '/hooks'];
const notAllowedBody = { message: '405 Method Not Allowed' };
const presentHookError = (error: unknown) => system.presentError(error, 'hook');
const presentVariableError = (error: unknown) => system.presentError(error, 'url_variable');
const presentCustomHeaderError = (error: unknown) => system.presentError(error, 'custom_header');
const hookJson = memoizedJson(system.presentHook);

function privateToken(req: IncomingMessage): string | null {
  const header = req.headers['private-token'];
  return (typeof header === 'string' && header !== '' ? header : null) ?? authorizationToken(req, ['bearer']);
}

export function systemRoutes(deps: RestDependencies): NodeHandler {
  const { hooks, users, deliveries } = deps;

  /** Every system hooks route is for administrators only, as in GitLab (`authenticated_as_admin!`). */
  const authenticateAdmin = async (req: IncomingMessage): Promise<Actor> => {
    const actor = await users.authenticate(privateToken(req));
    requireAdmin(actor);
    return actor;
  };

  const collection = (req: IncomingMessage, res: ServerResponse, pathname: string, search: string) =>
    runRoute(res, presentHookError, async () => {
      const actor = await authenticateAdmin(req);
      const query = new URLSearchParams(search);
      if (req.method === 'GET') {
        const pageRequest = system.parsePage(await readMergedParams(req, query, false));
        const page = { skip: (pageRequest.page - 1) * pageRequest.perPage, take: pageRequest.perPage };
        const { hooks: found, total } = await hooks.list(actor, { kind: 'SYSTEM' }, page);
        const baseUrl = `http://${req.headers.host ?? 'localhost'}${pathname}`;
        sendJson(res, 200, found.map(system.presentHook), system.paginationHeaders(baseUrl, query, pageRequest, total));
      } else {
        const input = system.parseCreate(await readMergedParams(req, query, true));
        sendJson(res, 201, system.presentHook(await hooks.create(actor, input)));
      }
    });

  const member = (req: IncomingMessage, res: ServerResponse, idSegment: string, search: string) =>
    runRoute(res, presentHookError, async () => {
      const actor = await authenticateAdmin(req);
      // GET takes no parameter but the id: the hot path skips query and body parsing.
      const params = req.method === 'GET' ? {} : await readMergedParams(req, new URLSearchParams(search), true);
      const id = parseId(idSegment);
      if (req.method === 'PUT') {
        const patch = system.parseUpdate(params);
        if (id === null) return sendJson(res, 404, system.notFound().body);
        sendJson(res, 200, system.presentHook(await hooks.update(actor, id, patch, 'SYSTEM')));
        return;
      }
      if (id === null) return sendJson(res, 404, system.notFound().body);
      if (req.method === 'GET') {
        sendJsonText(res, 200, hookJson(await hooks.get(actor, id, 'SYSTEM')));
      } else if (req.method === 'DELETE') {
        await hooks.delete(actor, id, 'SYSTEM');
        sendEmpty(res);
      } else {
        // Really delivered (and recorded) by the engine; GitLab answers with the sample regardless.
        await deliveries.testHook(actor, id, { kind: 'SYSTEM' });
        sendJson(res, 201, system.TEST_HOOK_RESPONSE);
      }
    });

  /** `PUT`/`DELETE /hooks/:hook_id/<collection>/:key`: url variables and custom headers alike. */
  const keyedValue = (collection: 'url_variables' | 'custom_headers') => {
    const present = collection === 'url_variables' ? presentVariableError : presentCustomHeaderError;
    const set = collection === 'url_variables' ? hooks.setUrlVariable.bind(hooks) : hooks.setCustomHeader.bind(hooks);
    const remove = collection === 'url_variables' ? hooks.deleteUrlVariable.bind(hooks) : hooks.deleteCustomHeader.bind(hooks);
    return (req: IncomingMessage, res: ServerResponse, idSegment: string, keySegment: string, search: string) =>
      runRoute(res, present, async () => {
        const actor = await authenticateAdmin(req);
        const params = await readMergedParams(req, new URLSearchParams(search), true);
        const id = parseId(idSegment);
        const key = decodeSegment(keySegment);
        if (req.method === 'PUT') {
          const value = system.requiredString(params, 'value');
          if (id === null) return sendJson(res, 404, system.notFound().body);
          await set(actor, id, key, value, 'SYSTEM');
        } else {
          if (id === null) return sendJson(res, 404, system.notFound().body);
          await remove(actor, id, key, 'SYSTEM');
        }
        sendEmpty(res);
      });
  };
  const keyedRoutes = { url_variables: keyedValue('url_variables'), custom_headers: keyedValue('custom_headers') };

  return async (req, res) => {
    const { pathname, search } = splitUrl(req.url);
    const prefix = PREFIXES.find((candidate) => pathname === candidate || pathname.startsWith(`${candidate}/`));
    if (!prefix) return false;
    const segments = pathname.slice(prefix.length + 1).split('/');
    if (pathname === prefix) {
      return req.method === 'GET' || req.method === 'POST' ? collection(req, res, prefix, search) : methodNotAllowed(res, ['GET', 'POST'], notAllowedBody);
    }
    if (segments.length === 1) {
      return req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE' || req.method === 'POST'
        ? member(req, res, segments[0]!, search)
        : methodNotAllowed(res, ['GET', 'POST', 'PUT', 'DELETE'], notAllowedBody);
    }
    if (segments.length === 3 && (segments[1] === 'url_variables' || segments[1] === 'custom_headers') && segments[2] !== '') {
      return req.method === 'PUT' || req.method === 'DELETE'
        ? keyedRoutes[segments[1]](req, res, segments[0]!, segments[2]!, search)
        : methodNotAllowed(res, ['PUT', 'DELETE'], notAllowedBody);
    }
    sendJson(res, 404, { message: '404 Not Found' });
    return true;
  };
}

/** A path segment decoded; a malformed escape is kept as written (it then fails the key rule). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

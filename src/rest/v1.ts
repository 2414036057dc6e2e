// `/v1/hooks` (subject hooks) and `/v1/events`: each route parses, calls a service, presents.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Actor, requirePublisher } from '../domain/actor';
import type { NodeHandler } from '../http/server';
import { authorizationToken, memoizedJson, parseId, readJsonBody, sendEmpty, sendJson, sendJsonText, splitUrl } from './http';
import { methodNotAllowed, type RestDependencies, runRoute } from './routes';
import * as v1 from './v1-presenter';

const HOOKS = '/v1/hooks';
const EVENTS = '/v1/events';

const hookJson = memoizedJson(v1.presentHook);
const notAllowedBody = { errors: [{ code: 'method_not_allowed', message: 'This method is not allowed on this resource' }] };

export function v1Routes(deps: RestDependencies): NodeHandler {
  const { hooks, users, deliveries } = deps;
  const authenticate = (req: IncomingMessage): Promise<Actor> => users.authenticate(authorizationToken(req, ['token', 'bearer']));

  const collection = (req: IncomingMessage, res: ServerResponse, search: string) =>
    runRoute(res, v1.presentError, async () => {
      const actor = await authenticate(req);
      if (req.method === 'GET') {
        const filter = v1.parseListFilter(new URLSearchParams(search));
        const { hooks: found } = await hooks.list(actor, filter);
        sendJson(res, 200, found.map(v1.presentHook));
      } else {
        const hook = await hooks.create(actor, v1.parseCreate(await readJsonBody(req)));
        sendJson(res, 201, v1.presentHook(hook));
      }
    });

  const member = (req: IncomingMessage, res: ServerResponse, idSegment: string) =>
    runRoute(res, v1.presentError, async () => {
      const actor = await authenticate(req);
      const id = parseId(idSegment);
      if (id === null) return sendJson(res, 404, v1.notFound().body);
      if (req.method === 'GET') {
        sendJsonText(res, 200, hookJson(await hooks.get(actor, id, 'SUBJECT')));
      } else if (req.method === 'PUT') {
        const patch = v1.parseUpdate(await readJsonBody(req));
        sendJson(res, 200, v1.presentHook(await hooks.update(actor, id, patch, 'SUBJECT')));
      } else {
        await hooks.delete(actor, id, 'SUBJECT');
        sendEmpty(res);
      }
    });

  const publish = (req: IncomingMessage, res: ServerResponse) =>
    runRoute(res, v1.presentError, async () => {
      // Who may publish is settled before the body is read: a stranger's payload is never parsed.
      const actor = await authenticate(req);
      requirePublisher(actor);
      const input = v1.parsePublish(await readJsonBody(req), req.headers['idempotency-key']);
      sendJson(res, 202, v1.presentPublished(await deliveries.publish(actor, input)));
    });

  return async (req, res) => {
    const { pathname, search } = splitUrl(req.url);
    if (pathname === HOOKS) {
      return req.method === 'GET' || req.method === 'POST' ? collection(req, res, search) : methodNotAllowed(res, ['GET', 'POST'], notAllowedBody);
    }
    if (pathname.startsWith(`${HOOKS}/`)) {
      const rest = pathname.slice(HOOKS.length + 1);
      if (rest.includes('/')) return runRoute(res, v1.presentError, async () => sendJson(res, 404, v1.notFound().body));
      return req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE'
        ? member(req, res, rest)
        : methodNotAllowed(res, ['GET', 'PUT', 'DELETE'], notAllowedBody);
    }
    if (pathname === EVENTS) return req.method === 'POST' ? publish(req, res) : methodNotAllowed(res, ['POST'], notAllowedBody);
    return false;
  };
}

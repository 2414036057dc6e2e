// The REST compatibility layer: the `/v1` dialect and GitLab's system hooks, on the same services.
import type { NodeHandler } from '../http/server';
import { openApiRoute } from './openapi';
import type { RestDependencies } from './routes';
import { systemRoutes } from './system';
import { v1Routes } from './v1';

export type { RestDependencies } from './routes';

export function restRoutes(deps: RestDependencies): NodeHandler[] {
  return [v1Routes(deps), systemRoutes(deps), openApiRoute()];
}

// One bearer token, whoever issued it: a portal session's (`hgp_…`) or a user's API token.
// Every transport that accepts portal links (GraphQL over HTTP, SSE, WebSocket) asks here.
import type { Actor } from './actor';
import { isPortalToken, type PortalService } from './portal';
import type { UserService } from './users';

export function authenticateToken(services: { users: UserService; portal: PortalService }, token: string): Promise<Actor> {
  return isPortalToken(token) ? services.portal.authenticate(token) : services.users.authenticate(token);
}

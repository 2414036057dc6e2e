// The signed-in token lives in sessionStorage: gone when the tab closes, never in a cookie.
// A portal link carries its token in the URL fragment (`#portal=…`), which is never sent anywhere.
const TOKEN_KEY = 'hookgate.token';
const PORTAL_KEY = 'hookgate.portal';

export interface Session {
  token: string;
  /** Portal sessions act as one namespace and see no admin pages. */
  portal: boolean;
}

export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function currentSession(): Session | null {
  const token = currentToken();
  return token ? { token, portal: sessionStorage.getItem(PORTAL_KEY) === '1' } : null;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(TOKEN_KEY, session.token);
  if (session.portal) sessionStorage.setItem(PORTAL_KEY, '1');
  else sessionStorage.removeItem(PORTAL_KEY);
}

export function clearSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(PORTAL_KEY);
}

/** Takes a portal token out of the address (so it is not bookmarked or shared by accident). */
export function takePortalTokenFromUrl(): string | null {
  const match = /^#portal=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
  if (!match) return null;
  history.replaceState(null, '', `${window.location.pathname}#/`);
  return match[1] ?? null;
}

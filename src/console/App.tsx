// The shell: sign-in gate, navigation, and the page for the current route.
import { useEffect, useState } from 'react';
import { onUnauthenticated, request } from './api';
import { DeliveriesPage } from './pages/DeliveriesPage';
import { DeliveryPage } from './pages/DeliveryPage';
import { HookForm } from './pages/HookForm';
import { HookPage } from './pages/HookPage';
import { HooksPage } from './pages/HooksPage';
import { PortalLinksPage } from './pages/PortalLinksPage';
import { SignIn, signInWithPortalToken } from './pages/SignIn';
import { UsersPage } from './pages/UsersPage';
import { href, useRoute } from './router';
import { clearSession, currentSession, type Session, takePortalTokenFromUrl } from './session';

export interface Viewer {
  username: string | null;
  isAdmin: boolean;
  /** 0 for a portal session (no stored user: the username is its namespace). */
  databaseId: number;
}

export function App() {
  const [session, setSession] = useState<Session | null>(() => currentSession());
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [notice, setNotice] = useState('');
  const route = useRoute();

  useEffect(() => {
    const portalToken = takePortalTokenFromUrl();
    if (portalToken) {
      void signInWithPortalToken(portalToken).then((signedIn) => {
        if (!signedIn) return setNotice('That portal link is not valid or has expired.');
        setSession(currentSession());
        setViewer(signedIn);
      });
    }
    return onUnauthenticated(() => {
      clearSession();
      setSession(null);
      setViewer(null);
      setNotice('Your session has ended. Sign in again.');
    });
  }, []);

  const signOut = () => {
    clearSession();
    setSession(null);
    setViewer(null);
    setNotice('');
  };

  if (!session) {
    return (
      <main className="signin">
        {notice && (
          <p role="status" className="notice">
            {notice}
          </p>
        )}
        <SignIn
          onSignedIn={(signed, who) => {
            setNotice('');
            setSession(signed);
            setViewer(who);
          }}
        />
      </main>
    );
  }
  const isAdmin = !session.portal && (viewer?.isAdmin ?? false);
  return (
    <>
      <header className="top">
        <a className="brand" href={href({ page: 'hooks' })}>
          Hookgate Console
        </a>
        <nav aria-label="Main">
          <ul>
            <li>
              <a href={href({ page: 'hooks' })} aria-current={route.page === 'hooks' ? 'page' : undefined}>
                Hooks
              </a>
            </li>
            <li>
              <a href={href({ page: 'deliveries' })} aria-current={route.page === 'deliveries' ? 'page' : undefined}>
                Deliveries
              </a>
            </li>
            {isAdmin && (
              <li>
                <a href={href({ page: 'users' })} aria-current={route.page === 'users' ? 'page' : undefined}>
                  Users and tokens
                </a>
              </li>
            )}
            {isAdmin && (
              <li>
                <a href={href({ page: 'portal' })} aria-current={route.page === 'portal' ? 'page' : undefined}>
                  Portal links
                </a>
              </li>
            )}
          </ul>
        </nav>
        <span className="who">{session.portal ? `Portal session: ${viewer?.username ?? '…'}` : (viewer?.username ?? '')}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        <ViewerLoader session={session} onViewer={setViewer} />
        {route.page === 'hooks' && <HooksPage isAdmin={isAdmin} />}
        {route.page === 'newHook' && <HookForm isAdmin={isAdmin} />}
        {route.page === 'editHook' && <HookForm isAdmin={isAdmin} hookId={route.id} />}
        {route.page === 'hook' && <HookPage id={route.id} />}
        {route.page === 'deliveries' && <DeliveriesPage />}
        {route.page === 'delivery' && <DeliveryPage id={route.id} />}
        {route.page === 'users' && isAdmin && <UsersPage />}
        {route.page === 'portal' && isAdmin && <PortalLinksPage />}
      </main>
    </>
  );
}

/** After a reload only the token is known: ask who it belongs to. */
function ViewerLoader({ session, onViewer }: { session: Session; onViewer: (viewer: Viewer) => void }) {
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new session (sign-in) must ask again.
  useEffect(() => {
    request<{ viewer: Viewer | null }>('Viewer').then(
      (data) => onViewer(data.viewer ?? { username: null, isAdmin: false, databaseId: 0 }),
      () => {},
    );
  }, [session, onViewer]);
  return null;
}

import { type FormEvent, useState } from 'react';
import type { Viewer } from '../App';
import { ApiError, request } from '../api';
import { type Session, saveSession } from '../session';

/** Checks a token with `viewer` (a portal session's viewer is its namespace, with databaseId 0). */
async function check(token: string): Promise<Viewer | null | 'refused'> {
  try {
    const data = await request<{ viewer: Viewer | null }>('Viewer', {}, token);
    return data.viewer;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') return 'refused';
    throw error;
  }
}

export async function signInWithPortalToken(token: string): Promise<Viewer | null> {
  const result = await check(token).catch(() => 'refused' as const);
  if (result === 'refused') return null;
  saveSession({ token, portal: true });
  return result ?? { username: null, isAdmin: false, databaseId: 0 };
}

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session, viewer: Viewer | null) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const result = await check(token.trim());
      if (result === 'refused') {
        setError('That token was not accepted.');
        return;
      }
      const session = { token: token.trim(), portal: result === null || result.databaseId === 0 };
      saveSession(session);
      onSignedIn(session, result);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : 'The server could not be reached.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="card" aria-labelledby="signin-title">
      <h1 id="signin-title">Hookgate Console</h1>
      <label htmlFor="token">API token</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        required
        value={token}
        onChange={(e) => setToken(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? 'token-error' : undefined}
      />
      {error && (
        <p id="token-error" role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}

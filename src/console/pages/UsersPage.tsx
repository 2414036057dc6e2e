// Admins: create a user and see its API token, once.
import { type FormEvent, useState } from 'react';
import { fieldErrors, request, type UserError } from '../api';
import { describedBy, Field } from './Field';

type Payload = { user: { username: string } | null; token: string | null; userErrors: UserError[] };

export function UsersPage() {
  const [username, setUsername] = useState('');
  const [isAdmin, setIsAdmin] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<{ username: string; token: string } | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = (await request<{ createUser: Payload }>('CreateUser', { input: { username, isAdmin } })).createUser;
    setErrors(fieldErrors(result.userErrors));
    if (result.user && result.token) {
      setCreated({ username: result.user.username, token: result.token });
      setUsername('');
    }
  };
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and tokens</h1>
      <form onSubmit={submit} className="card" aria-label="Create a user">
        <Field id="username" label="Username" error={errors.username}>
          <input id="username" value={username} onChange={(e) => setUsername(e.target.value)} {...describedBy('username', errors.username)} />
        </Field>
        <label className="check">
          <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.target.checked)} />
          Administrator
        </label>
        <button type="submit">Create user</button>
      </form>
      {created && (
        <div className="card" role="status">
          <p>
            User <strong>{created.username}</strong> was created. Its API token is shown this once:
          </p>
          <label htmlFor="new-token">API token of {created.username}</label>
          <input id="new-token" readOnly value={created.token} onFocus={(e) => e.target.select()} />
        </div>
      )}
    </section>
  );
}

// Admins: a console link for one namespace, to hand to a customer or embed in an iframe.
import { type FormEvent, useState } from 'react';
import { fieldErrors, request, type UserError } from '../api';
import { dateTime } from '../format';
import { describedBy, Field } from './Field';

type Payload = { url: string | null; expiresAt: string | null; userErrors: UserError[] };

export function PortalLinksPage() {
  const [namespace, setNamespace] = useState('');
  const [ttl, setTtl] = useState('60');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [link, setLink] = useState<{ url: string; expiresAt: string } | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = (await request<{ createPortalSession: Payload }>('CreatePortalSession', { input: { namespace, ttlMinutes: Number(ttl) } }))
      .createPortalSession;
    setErrors(fieldErrors(result.userErrors));
    setLink(result.url && result.expiresAt ? { url: result.url, expiresAt: result.expiresAt } : null);
  };
  return (
    <section aria-labelledby="portal-title">
      <h1 id="portal-title">Portal links</h1>
      <p>A link signs its holder in as the namespace: they see and manage only its subject hooks, until it expires.</p>
      <form onSubmit={submit} className="card" aria-label="Create a portal link">
        <Field id="namespace" label="Namespace" error={errors.namespace}>
          <input id="namespace" value={namespace} onChange={(e) => setNamespace(e.target.value)} {...describedBy('namespace', errors.namespace)} />
        </Field>
        <Field id="ttl" label="Valid for (minutes)" error={errors.ttlMinutes} hint="At most 1440 (24 hours).">
          <input id="ttl" type="number" min={1} max={1440} value={ttl} onChange={(e) => setTtl(e.target.value)} {...describedBy('ttl', errors.ttlMinutes)} />
        </Field>
        <button type="submit">Create link</button>
      </form>
      {link && (
        <div className="card" role="status">
          <label htmlFor="portal-url">Portal link (expires {dateTime(link.expiresAt)})</label>
          <input id="portal-url" readOnly value={link.url} onFocus={(e) => e.target.select()} />
        </div>
      )}
    </section>
  );
}

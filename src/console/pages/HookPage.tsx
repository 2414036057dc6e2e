// One hook: its settings, "Send test", "Re-enable", "Delete", "Redeliver failed since …", and its
// recent deliveries (filtered by status and time), live.
import { useCallback, useEffect, useState } from 'react';
import { request, type UserError } from '../api';
import { DELIVERY_STATUSES, dateTime, hookStatus, instantFromLocal, prettyBody, subjectLabel } from '../format';
import { type DeliverySummary, subscribeDeliveries } from '../live';
import { href, navigate } from '../router';
import { DeliveriesTable } from './DeliveriesTable';
import { RedeliverFailed } from './RedeliverFailed';
import { RotateSecret } from './RotateSecret';

interface Attempt {
  startedAt: string;
  durationMs: number;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
}
interface HookDetail {
  id: string;
  databaseId: number;
  kind: string;
  url: string;
  name: string | null;
  description: string | null;
  subjectType: string | null;
  subject: string | null;
  events: string[];
  isActive: boolean;
  alertStatus: string;
  disabledUntil: string | null;
  hasSecret: boolean;
  enableSslVerification: boolean;
  pushEventsBranchFilter: string | null;
  branchFilterStrategy: string;
  createdAt: string;
  hasSigningToken: boolean;
  signingPublicKey: string | null;
  previousSecretExpiresAt: string | null;
  urlVariables: { key: string }[];
  customHeaders: { key: string }[];
}
type TestResult = { delivery: { id: string; status: string; attempts: Attempt[] } | null; userErrors: UserError[] };

export function HookPage({ id }: { id: string }) {
  const [hook, setHook] = useState<HookDetail | null | undefined>(undefined);
  const [deliveries, setDeliveries] = useState<DeliverySummary[]>([]);
  const [status, setStatus] = useState('');
  const [since, setSince] = useState('');
  const [test, setTest] = useState<TestResult | null>(null);
  const [testing, setTesting] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [message, setMessage] = useState('');

  const load = useCallback(async () => {
    setHook((await request<{ hook: HookDetail | null }>('Hook', { id })).hook);
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);

  const createdAfter = instantFromLocal(since);
  const loadDeliveries = useCallback(async () => {
    const filter = { hookId: id, ...(status ? { status } : {}), ...(createdAfter ? { createdAfter } : {}) };
    setDeliveries((await request<{ deliveries: { nodes: DeliverySummary[] } }>('Deliveries', { first: 20, filter })).deliveries.nodes);
  }, [id, status, createdAfter]);
  useEffect(() => {
    void loadDeliveries();
  }, [loadDeliveries]);

  // The engine's updates replace a row in place; a new delivery goes on top.
  useEffect(
    () =>
      subscribeDeliveries(id, (update) => {
        setDeliveries((rows) => {
          const outside = (status && update.status !== status) || (createdAfter && Date.parse(update.createdAt) < Date.parse(createdAfter));
          if (outside) return rows.filter((row) => row.id !== update.id);
          return rows.some((row) => row.id === update.id) ? rows.map((row) => (row.id === update.id ? update : row)) : [update, ...rows];
        });
      }),
    [id, status, createdAfter],
  );

  if (hook === undefined) return <p role="status">Loading…</p>;
  if (hook === null) return <p role="alert">This hook does not exist or you may not see it.</p>;

  const sendTest = async () => {
    setTesting(true);
    try {
      const event = hook.kind === 'SUBJECT' ? hook.events[0] : undefined;
      setTest((await request<{ testHook: TestResult }>('TestHook', { input: { id: hook.id, ...(event ? { event } : {}) } })).testHook);
    } finally {
      setTesting(false);
    }
  };
  const reEnable = async () => {
    const result = await request<{ updateHook: { userErrors: UserError[] } }>('UpdateHook', { input: { id: hook.id, isActive: true } });
    setMessage(result.updateHook.userErrors.map((e) => e.message).join(' ') || 'The hook is active again.');
    await Promise.all([load(), loadDeliveries()]);
  };
  const remove = async () => {
    const result = await request<{ deleteHook: { userErrors: UserError[] } }>('DeleteHook', { input: { id: hook.id } });
    if (result.deleteHook.userErrors.length > 0) return setMessage(result.deleteHook.userErrors.map((e) => e.message).join(' '));
    navigate({ page: 'hooks' });
  };
  const attempt = test?.delivery?.attempts.at(-1);
  const state = hookStatus(hook);
  // What rotateHookSecret replaces: a system hook signs with its signing token when it has one.
  const rotates = hook.kind === 'SUBJECT' ? 'secret' : hook.hasSigningToken ? 'signing token' : 'token';
  const graceActive = hook.previousSecretExpiresAt !== null && Date.parse(hook.previousSecretExpiresAt) > Date.now();

  return (
    <section aria-labelledby="hook-title">
      <div className="heading">
        <h1 id="hook-title">Hook {hook.name ?? hook.databaseId}</h1>
        <a className="button" href={href({ page: 'editHook', id: hook.id })}>
          Edit
        </a>
      </div>
      {message && <p role="status">{message}</p>}
      <dl className="settings">
        <dt>URL</dt>
        <dd>{hook.url}</dd>
        <dt>Kind</dt>
        <dd>{hook.kind.toLowerCase()}</dd>
        <dt>Subject</dt>
        <dd>{subjectLabel(hook)}</dd>
        <dt>Events</dt>
        <dd>{hook.events.join(', ')}</dd>
        <dt>Status</dt>
        <dd>{state}</dd>
        <dt>{hook.kind === 'SYSTEM' ? 'Token' : 'Secret'}</dt>
        <dd>{hook.hasSecret ? 'set' : 'not set'}</dd>
        {hook.kind === 'SYSTEM' && (
          <>
            <dt>Signing token</dt>
            <dd>{hook.hasSigningToken ? 'set' : 'not set'}</dd>
          </>
        )}
        <dt>Signature</dt>
        <dd>
          {hook.signingPublicKey ? (
            <>
              Ed25519 (v1a), public key <code>{hook.signingPublicKey}</code>
            </>
          ) : (
            'HMAC-SHA256 (v1)'
          )}
        </dd>
        {graceActive && (
          <>
            <dt>Previous {rotates}</dt>
            <dd>also signs until {dateTime(hook.previousSecretExpiresAt)}</dd>
          </>
        )}
        <dt>TLS verification</dt>
        <dd>{hook.enableSslVerification ? 'on' : 'off'}</dd>
        <dt>Branch filter</dt>
        <dd>
          {hook.pushEventsBranchFilter
            ? `${hook.pushEventsBranchFilter} (${hook.branchFilterStrategy.toLowerCase()})`
            : hook.branchFilterStrategy.toLowerCase()}
        </dd>
        <dt>URL variables</dt>
        <dd>{hook.urlVariables.map((v) => v.key).join(', ') || 'none'}</dd>
        <dt>Custom headers</dt>
        <dd>{hook.customHeaders.map((h) => h.key).join(', ') || 'none'}</dd>
        {hook.description && (
          <>
            <dt>Description</dt>
            <dd>{hook.description}</dd>
          </>
        )}
      </dl>
      <div className="actions">
        <button type="button" onClick={sendTest} disabled={testing}>
          Send test
        </button>
        {state !== 'active' && (
          <button type="button" onClick={reEnable}>
            Re-enable
          </button>
        )}
        {!confirmDelete && (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete
          </button>
        )}
      </div>
      <div className="rotate">
        <RotateSecret hookId={hook.id} noun={rotates} onRotated={() => void load()} />
      </div>
      {confirmDelete && (
        <div role="alertdialog" aria-labelledby="confirm-title" className="confirm">
          <p id="confirm-title">Delete this hook and its delivery history?</p>
          {/* biome-ignore lint/a11y/noAutofocus: a confirmation takes the focus, as a dialog does. */}
          <button type="button" className="danger" onClick={remove} autoFocus>
            Yes, delete
          </button>
          <button type="button" onClick={() => setConfirmDelete(false)}>
            Cancel
          </button>
        </div>
      )}
      {test && (
        <section aria-labelledby="test-title" className="card" aria-live="polite">
          <h2 id="test-title">Test result</h2>
          {test.userErrors.map((e) => (
            <p key={e.message} role="alert" className="error">
              {e.message}
            </p>
          ))}
          {attempt && (
            <dl className="settings">
              <dt>Response status</dt>
              <dd>{attempt.responseStatus ?? 'none'}</dd>
              <dt>Duration</dt>
              <dd>{attempt.durationMs} ms</dd>
              {attempt.error && (
                <>
                  <dt>Error</dt>
                  <dd>{attempt.error}</dd>
                </>
              )}
              <dt>Response body</dt>
              <dd>
                <pre>{prettyBody(attempt.responseBody)}</pre>
              </dd>
            </dl>
          )}
        </section>
      )}
      <section aria-labelledby="deliveries-title">
        <div className="heading">
          <h2 id="deliveries-title">Recent deliveries</h2>
          <label>
            Status
            <select value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">Any</option>
              {DELIVERY_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Since
            <input type="datetime-local" step="1" value={since} onChange={(e) => setSince(e.target.value)} />
          </label>
        </div>
        <RedeliverFailed hookId={hook.id} onScheduled={() => void loadDeliveries()} />
        <DeliveriesTable caption="Recent deliveries" rows={deliveries} empty={status || since ? 'No deliveries match.' : 'No deliveries yet.'} />
      </section>
    </section>
  );
}

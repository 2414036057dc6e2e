// One delivery and its attempts (payload, request headers, response, error), with "Redeliver"; refreshed live.
import { useCallback, useEffect, useState } from 'react';
import { request, type UserError } from '../api';
import { dateTime, prettyBody } from '../format';
import { subscribeDeliveries } from '../live';
import { href } from '../router';

type Headers = Record<string, string | string[]>;
interface Attempt {
  startedAt: string;
  durationMs: number;
  requestHeaders: Headers;
  responseStatus: number | null;
  responseHeaders: Headers | null;
  responseBody: string | null;
  error: string | null;
}
interface DeliveryDetail {
  id: string;
  databaseId: number;
  event: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  createdAt: string;
  webhookId: string;
  payload: unknown;
  hook: { id: string; url: string };
  attempts: Attempt[];
}

export function DeliveryPage({ id }: { id: string }) {
  const [delivery, setDelivery] = useState<DeliveryDetail | null | undefined>(undefined);
  const [message, setMessage] = useState('');
  const load = useCallback(async () => {
    setDelivery((await request<{ delivery: DeliveryDetail | null }>('Delivery', { id })).delivery);
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);
  const hookId = delivery?.hook.id ?? null;
  useEffect(
    () =>
      hookId
        ? subscribeDeliveries(hookId, (update) => {
            if (update.id === id) void load();
          })
        : undefined,
    [hookId, id, load],
  );

  if (delivery === undefined) return <p role="status">Loading…</p>;
  if (delivery === null) return <p role="alert">This delivery does not exist or you may not see it.</p>;

  const redeliver = async () => {
    const result = await request<{ redeliver: { userErrors: UserError[] } }>('Redeliver', { input: { deliveryId: delivery.id } });
    setMessage(result.redeliver.userErrors.map((e) => e.message).join(' ') || 'Redelivery requested.');
    await load();
  };

  return (
    <section aria-labelledby="delivery-title">
      <p>
        <a href={href({ page: 'hook', id: delivery.hook.id })}>Back to the hook</a>
      </p>
      <div className="heading">
        <h1 id="delivery-title">
          Delivery {delivery.databaseId}: {delivery.event}
        </h1>
        <button type="button" onClick={redeliver}>
          Redeliver
        </button>
      </div>
      {message && <p role="status">{message}</p>}
      <dl className="settings">
        <dt>Status</dt>
        <dd data-testid="delivery-status">{delivery.status}</dd>
        <dt>Attempts</dt>
        <dd>{delivery.attemptCount}</dd>
        <dt>Next attempt</dt>
        <dd>{dateTime(delivery.nextAttemptAt) || 'none'}</dd>
        <dt>Webhook id</dt>
        <dd>
          <code>{delivery.webhookId}</code>
        </dd>
        <dt>Hook</dt>
        <dd>{delivery.hook.url}</dd>
      </dl>
      <h2>Payload</h2>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable block must be reachable by keyboard (WCAG 2.1.1). */}
      {/* biome-ignore lint/a11y/useAriaPropsSupportedByRole: the label names that focus stop. */}
      <pre className="code" tabIndex={0} aria-label="Payload">
        {JSON.stringify(delivery.payload, null, 2)}
      </pre>
      <h2>Attempts</h2>
      <ol className="attempts">
        {delivery.attempts.map((attempt, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: attempts only ever append; their order is their identity.
          <li key={`${attempt.startedAt}-${index}`}>
            <h3>
              Attempt {index + 1}, {dateTime(attempt.startedAt)}
            </h3>
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
              <dt>Request headers</dt>
              <dd>
                <HeaderTable caption={`Request headers of attempt ${index + 1}`} headers={attempt.requestHeaders} />
              </dd>
              <dt>Response headers</dt>
              <dd>
                {attempt.responseHeaders ? (
                  <HeaderTable caption={`Response headers of attempt ${index + 1}`} headers={attempt.responseHeaders} />
                ) : (
                  'none (no answer)'
                )}
              </dd>
              <dt>Response body</dt>
              <dd>
                <pre className="code">{prettyBody(attempt.responseBody) || '(empty)'}</pre>
              </dd>
            </dl>
          </li>
        ))}
      </ol>
      {delivery.attempts.length === 0 && <p>No attempt yet.</p>}
    </section>
  );
}

/** Header names and values as the API gives them (secrets already `[redacted]` by the server). */
function HeaderTable({ caption, headers }: { caption: string; headers: Headers }) {
  const entries = Object.entries(headers);
  if (entries.length === 0) return <>none recorded</>;
  return (
    <div className="scroll">
      <table className="headers">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {entries.map(([name, value]) => (
            <tr key={name}>
              <th scope="row">
                <code>{name}</code>
              </th>
              <td>
                <code>{Array.isArray(value) ? value.join(', ') : value}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// Every delivery the caller may see, across hooks: filtered by status, event, hook and time, paged
// with the connection's cursors; each row opens the delivery's page.
import { useEffect, useState } from 'react';
import { request } from '../api';
import { DELIVERY_STATUSES, instantFromLocal } from '../format';
import { DeliveriesTable, type DeliveryRow } from './DeliveriesTable';

const PAGE_SIZE = 20;

interface DeliveriesData {
  deliveries: {
    totalCount: number;
    nodes: DeliveryRow[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}
interface HookOption {
  id: string;
  url: string;
  name: string | null;
}
type Page = { first: number; after?: string } | { last: number; before: string };

export function DeliveriesPage() {
  const [status, setStatus] = useState('');
  const [event, setEvent] = useState('');
  const [hookId, setHookId] = useState('');
  const [after, setAfter] = useState('');
  const [before, setBefore] = useState('');
  const [page, setPage] = useState<Page>({ first: PAGE_SIZE });
  const [data, setData] = useState<DeliveriesData['deliveries'] | null>(null);
  const [hooks, setHooks] = useState<HookOption[]>([]);
  const [error, setError] = useState('');

  useEffect(() => {
    request<{ hooks: { nodes: HookOption[] } }>('Hooks', { first: 100 }).then(
      (result) => setHooks(result.hooks.nodes),
      () => {},
    );
  }, []);

  useEffect(() => {
    const createdAfter = instantFromLocal(after);
    const createdBefore = instantFromLocal(before);
    const filter = {
      ...(status ? { status } : {}),
      ...(event.trim() ? { event: event.trim() } : {}),
      ...(hookId ? { hookId } : {}),
      ...(createdAfter ? { createdAfter } : {}),
      ...(createdBefore ? { createdBefore } : {}),
    };
    let current = true;
    request<DeliveriesData>('Deliveries', { ...page, filter }).then(
      (result) => current && (setData(result.deliveries), setError('')),
      (failure: Error) => current && setError(failure.message),
    );
    return () => {
      current = false;
    };
  }, [status, event, hookId, after, before, page]);

  const refilter = (set: (value: string) => void) => (value: string) => {
    set(value);
    setPage({ first: PAGE_SIZE });
  };
  return (
    <section aria-labelledby="deliveries-title">
      <div className="heading">
        <h1 id="deliveries-title">Deliveries</h1>
      </div>
      <form className="filters" aria-label="Filter deliveries" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => refilter(setStatus)(e.target.value)}>
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Event
          <input value={event} onChange={(e) => refilter(setEvent)(e.target.value)} placeholder="build:complete" />
        </label>
        <label>
          Hook
          <select value={hookId} onChange={(e) => refilter(setHookId)(e.target.value)}>
            <option value="">Any</option>
            {hooks.map((hook) => (
              <option key={hook.id} value={hook.id}>
                {hook.name ?? hook.url}
              </option>
            ))}
          </select>
        </label>
        <label>
          Created after
          <input type="datetime-local" step="1" value={after} onChange={(e) => refilter(setAfter)(e.target.value)} />
        </label>
        <label>
          Created before
          <input type="datetime-local" step="1" value={before} onChange={(e) => refilter(setBefore)(e.target.value)} />
        </label>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {data && (
        <>
          <p className="count" role="status">
            {data.totalCount} {data.totalCount === 1 ? 'delivery' : 'deliveries'}
          </p>
          <DeliveriesTable caption="Deliveries" rows={data.nodes} empty="No deliveries match." showHook />
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              disabled={!data.pageInfo.hasPreviousPage || !data.pageInfo.startCursor}
              onClick={() => setPage({ last: PAGE_SIZE, before: data.pageInfo.startCursor! })}
            >
              Previous page
            </button>
            <button
              type="button"
              disabled={!data.pageInfo.hasNextPage || !data.pageInfo.endCursor}
              onClick={() => setPage({ first: PAGE_SIZE, after: data.pageInfo.endCursor! })}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

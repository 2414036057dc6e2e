// Home: the hooks the caller may see, filtered and paged with the connection's cursors.
import { useEffect, useState } from 'react';
import { request } from '../api';
import { dateTime, hookStatus, SUBJECT_TYPES, subjectLabel } from '../format';
import { href } from '../router';

const PAGE_SIZE = 20;

interface HookRow {
  id: string;
  databaseId: number;
  kind: string;
  url: string;
  name: string | null;
  subjectType: string | null;
  subject: string | null;
  events: string[];
  isActive: boolean;
  alertStatus: string;
  disabledUntil: string | null;
  deliveries: { nodes: { status: string; createdAt: string }[] };
}
interface HooksData {
  hooks: {
    totalCount: number;
    nodes: HookRow[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}
type Page = { first: number; after?: string } | { last: number; before: string };

export function HooksPage({ isAdmin }: { isAdmin: boolean }) {
  const [kind, setKind] = useState('');
  const [subjectType, setSubjectType] = useState('');
  const [subject, setSubject] = useState('');
  const [status, setStatus] = useState('');
  const [page, setPage] = useState<Page>({ first: PAGE_SIZE });
  const [data, setData] = useState<HooksData['hooks'] | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    const filter = {
      ...(kind ? { kind } : {}),
      ...(subjectType ? { subjectType } : {}),
      ...(subject.trim() ? { subject: subject.trim() } : {}),
      ...(status ? { isActive: status === 'active' } : {}),
    };
    let current = true;
    request<HooksData>('Hooks', { ...page, filter }).then(
      (result) => current && (setData(result.hooks), setError('')),
      (failure: Error) => current && setError(failure.message),
    );
    return () => {
      current = false;
    };
  }, [kind, subjectType, subject, status, page]);

  const refilter =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setPage({ first: PAGE_SIZE });
    };
  return (
    <section aria-labelledby="hooks-title">
      <div className="heading">
        <h1 id="hooks-title">Hooks</h1>
        <a className="button" href={href({ page: 'newHook' })}>
          New hook
        </a>
      </div>
      <form className="filters" aria-label="Filter hooks" onSubmit={(e) => e.preventDefault()}>
        {isAdmin && (
          <label>
            Kind
            <select value={kind} onChange={(e) => refilter(setKind)(e.target.value)}>
              <option value="">Any</option>
              <option value="SUBJECT">Subject</option>
              <option value="SYSTEM">System</option>
            </select>
          </label>
        )}
        <label>
          Subject type
          <select value={subjectType} onChange={(e) => refilter(setSubjectType)(e.target.value)}>
            <option value="">Any</option>
            {SUBJECT_TYPES.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </select>
        </label>
        <label>
          Subject
          <input value={subject} onChange={(e) => refilter(setSubject)(e.target.value)} placeholder="acme/app" />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => refilter(setStatus)(e.target.value)}>
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="disabled">Disabled</option>
          </select>
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
            {data.totalCount} {data.totalCount === 1 ? 'hook' : 'hooks'}
          </p>
          <div className="scroll">
            <table>
              <caption className="visually-hidden">Hooks</caption>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Events</th>
                  <th scope="col">Status</th>
                  <th scope="col">Last delivery</th>
                </tr>
              </thead>
              <tbody>
                {data.nodes.map((hook) => {
                  const last = hook.deliveries.nodes[0];
                  return (
                    <tr key={hook.id}>
                      <td>
                        <a href={href({ page: 'hook', id: hook.id })}>{hook.url}</a>
                        {hook.name && <div className="muted">{hook.name}</div>}
                      </td>
                      <td>{hook.kind.toLowerCase()}</td>
                      <td>{subjectLabel(hook)}</td>
                      <td>{hook.events.join(', ')}</td>
                      <td>{hookStatus(hook)}</td>
                      <td>{last ? `${last.status} ${dateTime(last.createdAt)}` : 'none'}</td>
                    </tr>
                  );
                })}
                {data.nodes.length === 0 && (
                  <tr>
                    <td colSpan={6}>No hooks match.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
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

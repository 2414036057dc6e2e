// The table of deliveries shared by the Deliveries page and a hook's recent deliveries.
import { dateTime } from '../format';
import { href } from '../router';

export interface DeliveryRow {
  id: string;
  event: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  createdAt: string;
  hook?: { id: string; url: string; name: string | null };
}

/** `showHook`: a column linking each row's hook (the Deliveries page; a hook's own page needs none). */
export function DeliveriesTable({ caption, rows, empty, showHook = false }: { caption: string; rows: DeliveryRow[]; empty: string; showHook?: boolean }) {
  const columns = showHook ? 6 : 5;
  return (
    <div className="scroll">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            {showHook && <th scope="col">Hook</th>}
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Next attempt</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id}>
              <td>
                <a href={href({ page: 'delivery', id: d.id })}>{d.event}</a>
              </td>
              {showHook && <td>{d.hook && <a href={href({ page: 'hook', id: d.hook.id })}>{d.hook.name ?? d.hook.url}</a>}</td>}
              <td>{d.status}</td>
              <td>{d.attemptCount}</td>
              <td>{dateTime(d.nextAttemptAt)}</td>
              <td>{dateTime(d.createdAt)}</td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={columns}>{empty}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

// "Redeliver failed since …": schedules every FAILED delivery of the hook created since then again.
import { type FormEvent, useState } from 'react';
import { request, type UserError } from '../api';
import { instantFromLocal } from '../format';

export function RedeliverFailed({ hookId, onScheduled }: { hookId: string; onScheduled: () => void }) {
  const [since, setSince] = useState('');
  const [result, setResult] = useState<{ count: number; userErrors: UserError[] } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const instant = instantFromLocal(since);
    if (!instant) return setResult({ count: 0, userErrors: [{ field: ['input', 'since'], message: 'Choose a date and time.', code: 'INVALID' }] });
    setBusy(true);
    try {
      const answer = (await request<{ redeliverFailed: { count: number; userErrors: UserError[] } }>('RedeliverFailed', { input: { hookId, since: instant } }))
        .redeliverFailed;
      setResult(answer);
      if (answer.userErrors.length === 0) onScheduled();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="filters" aria-label="Redeliver failed" onSubmit={submit}>
      <label>
        Failed since
        <input
          type="datetime-local"
          step="1"
          value={since}
          onChange={(e) => setSince(e.target.value)}
          aria-describedby={result?.userErrors.length ? 'redeliver-failed-error' : undefined}
        />
      </label>
      <button type="submit" disabled={busy}>
        Redeliver failed
      </button>
      {result && result.userErrors.length > 0 && (
        <p id="redeliver-failed-error" role="alert" className="error">
          {result.userErrors.map((error) => error.message).join(' ')}
        </p>
      )}
      {result && result.userErrors.length === 0 && (
        <p role="status">{result.count === 1 ? '1 failed delivery scheduled again.' : `${result.count} failed deliveries scheduled again.`}</p>
      )}
    </form>
  );
}

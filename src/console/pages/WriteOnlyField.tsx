// A secret the API never returns (a hook's secret or token, a system hook's signing token): the
// form shows only "set" / "not set", with "Replace" and "Remove".
import { describedBy, Field } from './Field';

export type WriteOnlyAction = 'keep' | 'replace' | 'remove';

export function WriteOnlyField({
  id,
  label,
  isSet,
  action,
  onAction,
  value,
  onValue,
  error,
}: {
  id: string;
  label: string;
  isSet: boolean;
  action: WriteOnlyAction;
  onAction: (action: WriteOnlyAction) => void;
  value: string;
  onValue: (value: string) => void;
  error?: string;
}) {
  const noun = label.toLowerCase();
  return (
    <Field id={id} label={label} error={error}>
      {action === 'replace' ? (
        <input id={id} type="password" autoComplete="new-password" value={value} onChange={(e) => onValue(e.target.value)} {...describedBy(id, error)} />
      ) : (
        <p id={id} className="secret">
          {action === 'remove' ? 'removed on save' : isSet ? 'set' : 'not set'}
          <button type="button" aria-label={`Replace ${noun}`} onClick={() => onAction('replace')}>
            Replace
          </button>
          {isSet && action === 'keep' && (
            <button type="button" aria-label={`Remove ${noun}`} onClick={() => onAction('remove')}>
              Remove
            </button>
          )}
        </p>
      )}
    </Field>
  );
}

/** The input field for a write-only value: absent to keep it, the new value, or null to remove it. */
export function writeOnlyInput(action: WriteOnlyAction, value: string): { value?: string | null } {
  if (action === 'replace' && value !== '') return { value };
  if (action === 'remove') return { value: null };
  return {};
}

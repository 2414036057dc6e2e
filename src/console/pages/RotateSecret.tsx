// "Rotate secret": a new signing secret (generated unless typed), shown this once, while the old
// one keeps signing for the grace period.
import { type FormEvent, useState } from 'react';
import { fieldErrors, request, type UserError } from '../api';
import { dateTime } from '../format';
import { describedBy, Field } from './Field';

type Payload = { secret: string | null; hook: { previousSecretExpiresAt: string | null } | null; userErrors: UserError[] };

/** `noun` is what rotates: "secret", "token" or "signing token" (system hooks). */
export function RotateSecret({ hookId, noun, onRotated }: { hookId: string; noun: string; onRotated: () => void }) {
  const [open, setOpen] = useState(false);
  const [graceHours, setGraceHours] = useState('24');
  const [secret, setSecret] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [rotated, setRotated] = useState<{ secret: string; previousUntil: string | null } | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const input = { id: hookId, graceHours: Number(graceHours), ...(secret ? { secret } : {}) };
    const result = (await request<{ rotateHookSecret: Payload }>('RotateHookSecret', { input })).rotateHookSecret;
    setErrors(fieldErrors(result.userErrors));
    if (result.userErrors.length > 0 || !result.secret) return;
    setRotated({ secret: result.secret, previousUntil: result.hook?.previousSecretExpiresAt ?? null });
    setOpen(false);
    setSecret('');
    onRotated();
  };

  const title = `Rotate ${noun}`;
  return (
    <>
      {!open && (
        <button
          type="button"
          onClick={() => {
            setOpen(true);
            setRotated(null);
          }}
        >
          {title}
        </button>
      )}
      {open && (
        <form className="card" aria-label={title} onSubmit={submit}>
          <Field id="graceHours" label="Grace period (hours)" error={errors.graceHours} hint={`The old ${noun} keeps signing too until then (0 to 168).`}>
            <input
              id="graceHours"
              type="number"
              min={0}
              max={168}
              step="any"
              value={graceHours}
              onChange={(e) => setGraceHours(e.target.value)}
              {...describedBy('graceHours', errors.graceHours)}
            />
          </Field>
          <Field
            id="newSecret"
            label={`New ${noun} (optional)`}
            error={errors.secret ?? errors.signingToken ?? errors.id}
            hint="Leave empty to have one generated."
          >
            <input
              id="newSecret"
              type="password"
              autoComplete="new-password"
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
              {...describedBy('newSecret', errors.secret)}
            />
          </Field>
          <div className="actions">
            <button type="submit">Rotate</button>
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {rotated && (
        <div className="card" role="status">
          <p>The new {noun} is shown this once: copy it to the receiver.</p>
          <label htmlFor="rotated-secret">New {noun}</label>
          <input id="rotated-secret" readOnly value={rotated.secret} onFocus={(e) => e.target.select()} />
          <p>
            {rotated.previousUntil
              ? `Until ${dateTime(rotated.previousUntil)}, deliveries are signed with the previous ${noun} too.`
              : `Deliveries are signed with it from now on.`}
          </p>
        </div>
      )}
    </>
  );
}

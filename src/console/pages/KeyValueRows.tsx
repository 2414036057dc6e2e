// Key/value rows whose values are write-only (URL variables, custom headers): a stored key shows
// no value, and typing one replaces it on save.
import type { ReactNode } from 'react';
import { FieldError } from './Field';

export interface KeyValueRow {
  key: string;
  value: string;
  /** Already stored on the hook (its value unknown to us). */
  stored: boolean;
}

export interface KeyValueLabels {
  /** The field id (its error is `<id>-error`). */
  id: string;
  legend: string;
  keyLabel: string;
  valueLabel: string;
  /** "variable", "header": in "Add …" and "Remove … <key>". */
  noun: string;
}

export function KeyValueRows({
  labels,
  hint,
  rows,
  onChange,
  error,
}: {
  labels: KeyValueLabels;
  hint: ReactNode;
  rows: KeyValueRow[];
  onChange: (rows: KeyValueRow[]) => void;
  error?: string;
}) {
  const update = (index: number, patch: Partial<KeyValueRow>) => onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  return (
    <fieldset className="variables" aria-describedby={error ? `${labels.id}-error` : undefined}>
      <legend>{labels.legend}</legend>
      <p className="muted">{hint}</p>
      {rows.map((row, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id until saved, and their keys are being edited.
        <div className="row" key={index}>
          <label>
            {labels.keyLabel}
            <input value={row.key} readOnly={row.stored} onChange={(e) => update(index, { key: e.target.value })} />
          </label>
          <label>
            {labels.valueLabel}
            <input
              type="password"
              autoComplete="off"
              value={row.value}
              placeholder={row.stored ? 'set (type to replace)' : ''}
              onChange={(e) => update(index, { value: e.target.value })}
            />
          </label>
          <button type="button" onClick={() => onChange(rows.filter((_, i) => i !== index))} aria-label={`Remove ${labels.noun} ${row.key || index + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { key: '', value: '', stored: false }])}>
        Add {labels.noun}
      </button>
      <FieldError id={labels.id} message={error} />
    </fieldset>
  );
}

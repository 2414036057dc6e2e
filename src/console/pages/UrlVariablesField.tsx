// URL variables as key/value rows. Values are write-only: an existing key shows no value, and
// typing one replaces it on save.
import { FieldError } from './Field';

export interface VariableRow {
  key: string;
  value: string;
  /** Already stored on the hook (its value unknown to us). */
  stored: boolean;
}

export function UrlVariablesField({ rows, onChange, error }: { rows: VariableRow[]; onChange: (rows: VariableRow[]) => void; error?: string }) {
  const update = (index: number, patch: Partial<VariableRow>) => onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  return (
    <fieldset className="variables">
      <legend>URL variables</legend>
      <p className="muted">Fill <code>{'{key}'}</code> placeholders in the URL. Values are write-only.</p>
      {rows.map((row, index) => (
        <div className="row" key={index}>
          <label>Key
            <input value={row.key} readOnly={row.stored} onChange={(e) => update(index, { key: e.target.value })} />
          </label>
          <label>Value
            <input type="password" autoComplete="off" value={row.value} placeholder={row.stored ? 'set (type to replace)' : ''}
              onChange={(e) => update(index, { value: e.target.value })} />
          </label>
          <button type="button" onClick={() => onChange(rows.filter((_, i) => i !== index))} aria-label={`Remove variable ${row.key || index + 1}`}>Remove</button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { key: '', value: '', stored: false }])}>Add variable</button>
      <FieldError id="urlVariables" message={error} />
    </fieldset>
  );
}

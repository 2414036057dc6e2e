// URL variables: values fill `{key}` placeholders in the URL and are write-only.
import { type KeyValueRow, KeyValueRows } from './KeyValueRows';

export type VariableRow = KeyValueRow;

const LABELS = { id: 'urlVariables', legend: 'URL variables', keyLabel: 'Key', valueLabel: 'Value', noun: 'variable' };

export function UrlVariablesField({ rows, onChange, error }: { rows: VariableRow[]; onChange: (rows: VariableRow[]) => void; error?: string }) {
  const hint = (
    <>
      Fill <code>{'{key}'}</code> placeholders in the URL. Values are write-only.
    </>
  );
  return <KeyValueRows labels={LABELS} hint={hint} rows={rows} onChange={onChange} error={error} />;
}

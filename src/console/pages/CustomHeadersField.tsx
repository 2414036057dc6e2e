// Custom headers: sent with every delivery of the hook; values are write-only.
import { type KeyValueRow, KeyValueRows } from './KeyValueRows';

const LABELS = { id: 'customHeaders', legend: 'Custom headers', keyLabel: 'Header name', valueLabel: 'Header value', noun: 'header' };

export function CustomHeadersField({ rows, onChange, error }: { rows: KeyValueRow[]; onChange: (rows: KeyValueRow[]) => void; error?: string }) {
  const hint = 'Sent with every delivery (at most 20). Values are write-only.';
  return <KeyValueRows labels={LABELS} hint={hint} rows={rows} onChange={onChange} error={error} />;
}

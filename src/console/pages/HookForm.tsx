// Create and edit both kinds of hook: every field of CreateHookInput, each userErrors entry shown
// next to its field in the API's own words.
import { type FormEvent, useEffect, useState } from 'react';
import { fieldErrors, request, type UserError } from '../api';
import { SUBJECT_EVENTS, SUBJECT_TYPES, SYSTEM_EVENTS } from '../format';
import { href, navigate } from '../router';
import { CustomHeadersField } from './CustomHeadersField';
import { describedBy, Field, FieldError } from './Field';
import type { KeyValueRow } from './KeyValueRows';
import { UrlVariablesField, type VariableRow } from './UrlVariablesField';
import { type WriteOnlyAction, WriteOnlyField, writeOnlyInput } from './WriteOnlyField';

interface HookFields {
  kind: string;
  url: string;
  name: string;
  description: string;
  subjectType: string;
  subject: string;
  events: string[];
  isActive: boolean;
  enableSslVerification: boolean;
  pushEventsBranchFilter: string;
  branchFilterStrategy: string;
}
const EMPTY: HookFields = {
  kind: 'SUBJECT',
  url: '',
  name: '',
  description: '',
  subjectType: 'BUILD_REPO',
  subject: '',
  events: ['build:complete'],
  isActive: true,
  enableSslVerification: true,
  pushEventsBranchFilter: '',
  branchFilterStrategy: 'WILDCARD',
};
type Stored = HookFields & {
  hasSecret: boolean;
  hasSigningToken: boolean;
  signingPublicKey: string | null;
  urlVariables: { key: string }[];
  customHeaders: { key: string }[];
};
type Payload = { hook: { id: string } | null; userErrors: UserError[] };

export function HookForm({ hookId, isAdmin }: { hookId?: string; isAdmin: boolean }) {
  const [fields, setFields] = useState<HookFields>(EMPTY);
  const [hasSecret, setHasSecret] = useState(false);
  // Write-only: an edit keeps the stored secret unless it is replaced or removed.
  const [secretAction, setSecretAction] = useState<WriteOnlyAction>(hookId ? 'keep' : 'replace');
  const [secret, setSecret] = useState('');
  const [hasSigningToken, setHasSigningToken] = useState(false);
  const [signingTokenAction, setSigningTokenAction] = useState<WriteOnlyAction>(hookId ? 'keep' : 'replace');
  const [signingToken, setSigningToken] = useState('');
  // The API has no scheme field: an Ed25519 hook is one with a public key.
  const [storedScheme, setStoredScheme] = useState('HMAC_SHA256');
  const [scheme, setScheme] = useState('HMAC_SHA256');
  const [headers, setHeaders] = useState<KeyValueRow[]>([]);
  const [storedHeaderKeys, setStoredHeaderKeys] = useState<string[]>([]);
  const [variables, setVariables] = useState<VariableRow[]>([]);
  const [storedKeys, setStoredKeys] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [loaded, setLoaded] = useState(!hookId);
  const [savedId, setSavedId] = useState(hookId);

  useEffect(() => {
    if (!hookId) return;
    void request<{ hook: Stored | null }>('Hook', { id: hookId }).then(({ hook }) => {
      if (!hook) return setErrors({ '': 'This hook does not exist or you may not see it.' });
      setFields({ ...EMPTY, ...Object.fromEntries(Object.entries(hook).map(([k, v]) => [k, v ?? ''])) } as HookFields);
      setHasSecret(hook.hasSecret);
      setHasSigningToken(hook.hasSigningToken);
      const stored = hook.signingPublicKey ? 'ED25519' : 'HMAC_SHA256';
      setStoredScheme(stored);
      setScheme(stored);
      setHeaders(hook.customHeaders.map(({ key }) => ({ key, value: '', stored: true })));
      setStoredHeaderKeys(hook.customHeaders.map(({ key }) => key));
      setVariables(hook.urlVariables.map(({ key }) => ({ key, value: '', stored: true })));
      setStoredKeys(hook.urlVariables.map(({ key }) => key));
      setLoaded(true);
    });
  }, [hookId]);

  const set = <K extends keyof HookFields>(key: K, value: HookFields[K]) => setFields((current) => ({ ...current, [key]: value }));
  const eventChoices = fields.kind === 'SYSTEM' ? SYSTEM_EVENTS : (SUBJECT_EVENTS[fields.subjectType] ?? []);
  const changeSubjectType = (subjectType: string) => setFields((current) => ({ ...current, subjectType, events: [...(SUBJECT_EVENTS[subjectType] ?? [])] }));
  const changeKind = (kind: string) =>
    setFields((current) => ({ ...current, kind, events: kind === 'SYSTEM' ? [...SYSTEM_EVENTS] : [...(SUBJECT_EVENTS[current.subjectType] ?? [])] }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const subjectFields = fields.kind === 'SUBJECT' ? { subjectType: fields.subjectType, subject: fields.subject } : {};
    const input = {
      url: fields.url,
      name: fields.name || null,
      description: fields.description || null,
      events: fields.events,
      isActive: fields.isActive,
      enableSslVerification: fields.enableSslVerification,
      pushEventsBranchFilter: fields.pushEventsBranchFilter || null,
      branchFilterStrategy: fields.branchFilterStrategy,
      ...renamed('secret', writeOnlyInput(secretAction, secret)),
      ...(fields.kind === 'SYSTEM' ? renamed('signingToken', writeOnlyInput(signingTokenAction, signingToken)) : {}),
      ...(scheme !== storedScheme ? { signatureScheme: scheme } : {}),
      // New values only; a stored header whose value was not retyped is left as it is.
      customHeaders: headers.filter((row) => row.key.trim() !== '' && row.value !== '').map((row) => ({ key: row.key.trim(), value: row.value })),
    };
    let id = savedId;
    // A hook created on an earlier try (whose variables then failed) is updated, not created twice.
    const result = id
      ? (await request<{ updateHook: Payload }>('UpdateHook', { input: { id, ...input } })).updateHook
      : (await request<{ createHook: Payload }>('CreateHook', { input: { kind: fields.kind, ...subjectFields, ...input } })).createHook;
    if (result.userErrors.length > 0 || !result.hook) return setErrors(fieldErrors(result.userErrors));
    id = result.hook.id;
    setSavedId(id);
    const variableErrors: UserError[] = [];
    const headerErrors: UserError[] = [];
    for (const key of storedHeaderKeys.filter((stored) => !headers.some((row) => row.key === stored))) {
      headerErrors.push(
        ...(await request<{ deleteCustomHeader: Payload }>('DeleteCustomHeader', { input: { hookId: id, key } })).deleteCustomHeader.userErrors,
      );
    }
    if (headerErrors.length > 0) return setErrors({ customHeaders: headerErrors.map((e) => e.message).join(' ') });
    for (const key of storedKeys.filter((stored) => !variables.some((row) => row.key === stored))) {
      variableErrors.push(...(await request<{ deleteUrlVariable: Payload }>('DeleteUrlVariable', { input: { hookId: id, key } })).deleteUrlVariable.userErrors);
    }
    for (const row of variables.filter((row) => row.key.trim() !== '' && row.value !== '')) {
      variableErrors.push(
        ...(await request<{ setUrlVariable: Payload }>('SetUrlVariable', { input: { hookId: id, key: row.key.trim(), value: row.value } })).setUrlVariable
          .userErrors,
      );
    }
    if (variableErrors.length > 0) return setErrors({ urlVariables: variableErrors.map((e) => e.message).join(' ') });
    navigate({ page: 'hook', id });
  };

  if (!loaded) return <p role="status">{errors[''] ?? 'Loading…'}</p>;
  return (
    <form className="hook-form" onSubmit={submit} aria-labelledby="form-title" noValidate>
      <h1 id="form-title">{hookId ? 'Edit hook' : 'New hook'}</h1>
      <FieldError id="form" message={errors[''] ?? errors.id} />
      <Field id="kind" label="Kind" error={errors.kind}>
        <select
          id="kind"
          value={fields.kind}
          disabled={Boolean(hookId) || !isAdmin}
          onChange={(e) => changeKind(e.target.value)}
          {...describedBy('kind', errors.kind)}
        >
          <option value="SUBJECT">Subject hook</option>
          <option value="SYSTEM">System hook</option>
        </select>
      </Field>
      <Field id="url" label="URL" error={errors.url} hint="Placeholders such as {token} are filled from URL variables.">
        <input id="url" type="url" value={fields.url} onChange={(e) => set('url', e.target.value)} {...describedBy('url', errors.url)} />
      </Field>
      <Field id="name" label="Name" error={errors.name}>
        <input id="name" value={fields.name} onChange={(e) => set('name', e.target.value)} {...describedBy('name', errors.name)} />
      </Field>
      <Field id="description" label="Description" error={errors.description}>
        <textarea
          id="description"
          value={fields.description}
          onChange={(e) => set('description', e.target.value)}
          {...describedBy('description', errors.description)}
        />
      </Field>
      {fields.kind === 'SUBJECT' && (
        <>
          <Field id="subjectType" label="Subject type" error={errors.subjectType}>
            <select
              id="subjectType"
              value={fields.subjectType}
              disabled={Boolean(hookId)}
              onChange={(e) => changeSubjectType(e.target.value)}
              {...describedBy('subjectType', errors.subjectType)}
            >
              {SUBJECT_TYPES.map((type) => (
                <option key={type} value={type}>
                  {type}
                </option>
              ))}
            </select>
          </Field>
          <Field id="subject" label="Subject" error={errors.subject} hint="namespace/name for repositories, namespace/job-id for jobs">
            <input
              id="subject"
              value={fields.subject}
              readOnly={Boolean(hookId)}
              onChange={(e) => set('subject', e.target.value)}
              {...describedBy('subject', errors.subject)}
            />
          </Field>
        </>
      )}
      <fieldset aria-describedby={errors.events ? 'events-error' : undefined}>
        <legend>Events</legend>
        {eventChoices.map((name) => (
          <label key={name} className="check">
            <input
              type="checkbox"
              checked={fields.events.includes(name)}
              onChange={(e) => set('events', e.target.checked ? [...fields.events, name] : fields.events.filter((x) => x !== name))}
            />
            {name}
          </label>
        ))}
        <FieldError id="events" message={errors.events} />
      </fieldset>
      <WriteOnlyField
        id="secret"
        label={fields.kind === 'SYSTEM' ? 'Token' : 'Secret'}
        isSet={hasSecret}
        action={secretAction}
        onAction={setSecretAction}
        value={secret}
        onValue={setSecret}
        error={errors.secret}
      />
      {fields.kind === 'SYSTEM' && (
        <WriteOnlyField
          id="signingToken"
          label="Signing token"
          isSet={hasSigningToken}
          action={signingTokenAction}
          onAction={setSigningTokenAction}
          value={signingToken}
          onValue={setSigningToken}
          error={errors.signingToken}
        />
      )}
      <Field
        id="signatureScheme"
        label="Signature scheme"
        error={errors.signatureScheme}
        hint={
          fields.kind === 'SYSTEM'
            ? 'Ed25519 with no signing token generates a key pair.'
            : 'Ed25519 with no secret generates a key pair; receivers verify with its public key.'
        }
      >
        <select id="signatureScheme" value={scheme} onChange={(e) => setScheme(e.target.value)} {...describedBy('signatureScheme', errors.signatureScheme)}>
          <option value="HMAC_SHA256">HMAC-SHA256 (v1)</option>
          <option value="ED25519">Ed25519 (v1a)</option>
        </select>
      </Field>
      <label className="check">
        <input type="checkbox" checked={fields.isActive} onChange={(e) => set('isActive', e.target.checked)} />
        Active
      </label>
      <label className="check">
        <input type="checkbox" checked={fields.enableSslVerification} onChange={(e) => set('enableSslVerification', e.target.checked)} />
        Verify TLS certificates
      </label>
      <Field id="pushEventsBranchFilter" label="Branch filter" error={errors.pushEventsBranchFilter}>
        <input
          id="pushEventsBranchFilter"
          value={fields.pushEventsBranchFilter}
          onChange={(e) => set('pushEventsBranchFilter', e.target.value)}
          {...describedBy('pushEventsBranchFilter', errors.pushEventsBranchFilter)}
        />
      </Field>
      <Field id="branchFilterStrategy" label="Branch filter strategy" error={errors.branchFilterStrategy}>
        <select id="branchFilterStrategy" value={fields.branchFilterStrategy} onChange={(e) => set('branchFilterStrategy', e.target.value)}>
          <option value="WILDCARD">Wildcard</option>
          <option value="REGEX">Regular expression</option>
          <option value="ALL_BRANCHES">All branches</option>
        </select>
      </Field>
      <UrlVariablesField rows={variables} onChange={setVariables} error={errors.urlVariables ?? errors.key ?? errors.value} />
      <CustomHeadersField rows={headers} onChange={setHeaders} error={errors.customHeaders} />
      <div className="actions">
        <button type="submit">Save</button>
        <a href={savedId ? href({ page: 'hook', id: savedId }) : href({ page: 'hooks' })}>Cancel</a>
      </div>
    </form>
  );
}

/** `{value}` from writeOnlyInput under the input field's own name. */
function renamed(field: string, input: { value?: string | null }): Record<string, string | null> {
  return 'value' in input ? { [field]: input.value ?? null } : {};
}

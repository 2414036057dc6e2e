// Signing end to end (both backends, real receivers): Ed25519 `v1a` verified with node:crypto
// against the `whpk_` key read over GraphQL, rotation checked with the `standardwebhooks` verifier,
// and GitLab 19's signing token through the system hooks REST API.
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, graphql, startTestApp, type TestApp } from '../helpers';
import { call } from '../rest/helpers';
import { eventually, type Received, type Receiver, startReceiver } from './receiver';

const HOOK_FIELDS = 'id databaseId hasSecret signingPublicKey previousSecretExpiresAt hasSigningToken';
const CREATE = `mutation($input: CreateHookInput!) { createHook(input: $input) { hook { ${HOOK_FIELDS} } userErrors { field message code } } }`;
const UPDATE = `mutation($input: UpdateHookInput!) { updateHook(input: $input) { hook { ${HOOK_FIELDS} } userErrors { field message code } } }`;
const ROTATE = `mutation($input: RotateHookSecretInput!) { rotateHookSecret(input: $input) { secret hook { ${HOOK_FIELDS} } userErrors { field message code } } }`;

/** A receiver's check of a `v1a` signature: node:crypto, the `whpk_` key and nothing else. */
function verifiesV1a(publicKey: string, request: Pick<Received, 'headers' | 'body'>): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url') },
    format: 'jwk',
  });
  const signed = Buffer.from(`${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${request.body}`);
  return String(request.headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, signature] = entry.split(',');
      return version === 'v1a' && verify(null, signed, key, Buffer.from(signature ?? '', 'base64'));
    });
}

const verifiesV1 = (secret: string, request: Received) => {
  try {
    new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};

describe.each(backends)('signing (%s)', (backend) => {
  let t: TestApp;
  let r: Receiver;
  let subjects = 0;

  beforeAll(async () => {
    t = await startTestApp(backend);
    r = await startReceiver();
  });
  afterAll(async () => {
    await t?.close();
    await r?.close();
  });

  /** A subject hook created over GraphQL on its own subject; returns the hook and its subject. */
  const createSubjectHook = async (extra: Record<string, unknown>) => {
    const subject = `sign/r${++subjects}`;
    const answer = await graphql(t.url, CREATE, {
      input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject, events: ['build:complete'], url: `${r.url}/${subject}`, ...extra },
    });
    expect(answer.data?.createHook.userErrors).toEqual([]);
    return { hook: answer.data!.createHook.hook, subject };
  };
  /** Publishes one event to `subject` and returns the request its hook received. */
  const deliver = async (subject: string, payload: Record<string, unknown> = { ok: true }) => {
    const before = r.requests.filter((request) => request.path === `/${subject}`).length;
    await t.app.services.deliveries.publish(t.admin, { event: 'build:complete', subjectType: 'BUILD_REPO', subject, payload });
    return eventually(async () => r.requests.filter((request) => request.path === `/${subject}`)[before], 10_000, `a delivery to ${subject}`);
  };

  it('ED25519 with no secret generates a key pair: v1a verifies with the whpk_ key from GraphQL, a tampered body does not', async () => {
    const { hook, subject } = await createSubjectHook({ signatureScheme: 'ED25519' });
    expect(hook).toMatchObject({ hasSecret: true, hasSigningToken: false, previousSecretExpiresAt: null });
    expect(hook.signingPublicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const request = await deliver(subject, { signed: 'with ed25519' });
    expect(String(request.headers['webhook-signature'])).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(verifiesV1a(hook.signingPublicKey, request)).toBe(true);
    expect(verifiesV1a(hook.signingPublicKey, { ...request, body: request.body.replace('ed25519', 'ed25518') })).toBe(false);
    expect(verifiesV1a(hook.signingPublicKey, { ...request, headers: { ...request.headers, 'webhook-id': 'msg_other' } })).toBe(false);
    // The private key is never readable, and the log stores no signature.
    const stored = await eventually(
      () => t.app.db.prisma.deliveryAttempt.findFirst({ where: { delivery: { hookId: hook.databaseId } } }),
      10_000,
      'the stored attempt',
    );
    expect(stored.requestHeaders).toMatchObject({ 'webhook-signature': '[redacted]' });
  });

  it('a whsk_ secret of a 32-byte seed or a 64-byte seed+public key signs v1a; one that is not a key is a validation error', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = privateKey.export({ format: 'jwk' });
    const seed = Buffer.from(jwk.d!, 'base64url');
    const pub = Buffer.from(jwk.x!, 'base64url');
    const expected = `whpk_${pub.toString('base64')}`;
    expect(publicKey.export({ format: 'jwk' }).x).toBe(jwk.x);
    for (const secret of [`whsk_${seed.toString('base64')}`, `whsk_${Buffer.concat([seed, pub]).toString('base64')}`]) {
      const { hook, subject } = await createSubjectHook({ secret });
      expect(hook.signingPublicKey).toBe(expected);
      expect(verifiesV1a(expected, await deliver(subject))).toBe(true);
    }
    const otherPub = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
    for (const bad of [
      'whsk_',
      'whsk_not-base64!',
      `whsk_${seed.subarray(0, 31).toString('base64')}`,
      `whsk_${Buffer.concat([seed, otherPub]).toString('base64')}`,
    ]) {
      const answer = await graphql(t.url, CREATE, {
        input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'sign/bad', events: ['build:complete'], url: r.url, secret: bad },
      });
      expect(answer.data?.createHook.userErrors, bad).toEqual([
        { field: ['input', 'secret'], message: expect.stringContaining('not a valid Ed25519 key'), code: 'VALIDATION_FAILED' },
      ]);
      const v1 = await call(t.url, 'POST', '/v1/hooks', {
        headers: { authorization: `Token ${t.adminToken}` },
        body: { subject_type: 'build_repo', subject: 'sign/bad', events: ['build:complete'], url: r.url, secret: bad },
      });
      expect(v1.status, v1.text).toBe(400);
      expect(v1.body).toMatchObject({ errors: [{ code: 'invalid_args', field: 'secret' }] });
    }
    // The scheme must match the secret given.
    const mismatch = await graphql(t.url, CREATE, {
      input: {
        kind: 'SUBJECT',
        subjectType: 'BUILD_REPO',
        subject: 'sign/bad',
        events: ['build:complete'],
        url: r.url,
        secret: 'plain',
        signatureScheme: 'ED25519',
      },
    });
    expect(mismatch.data?.createHook.userErrors).toMatchObject([{ field: ['input', 'signatureScheme'], code: 'VALIDATION_FAILED' }]);
  });

  it('a system hook token that looks like a signing key is refused (422), in REST and GraphQL', async () => {
    const key = `whsk_${Buffer.alloc(32, 1).toString('base64')}`;
    const answer = await call(t.url, 'POST', '/api/v4/hooks', { headers: { 'private-token': t.adminToken }, body: { url: r.url, token: key } });
    expect(answer.status, answer.text).toBe(422);
    expect(answer.body).toEqual({ message: { token: ['must not be a signing key'] } });
    const viaGraphql = await graphql(t.url, CREATE, { input: { kind: 'SYSTEM', url: r.url, secret: key } });
    expect(viaGraphql.data?.createHook.userErrors).toEqual([{ field: ['input', 'secret'], message: 'must not be a signing key', code: 'VALIDATION_FAILED' }]);
    // ED25519 on a system hook makes a signing token, never a token.
    const ed = await graphql(t.url, CREATE, { input: { kind: 'SYSTEM', url: `${r.url}/sys-ed`, secret: 'plain-token', signatureScheme: 'ED25519' } });
    const hook = ed.data?.createHook.hook;
    expect(hook).toMatchObject({ hasSecret: true, hasSigningToken: true, signingPublicKey: expect.stringMatching(/^whpk_/) });
    await call(t.url, 'POST', `/api/v4/hooks/${hook.databaseId}`, { headers: { 'private-token': t.adminToken }, body: {} });
    const request = await eventually(async () => r.requests.find((q) => q.path === '/sys-ed'), 10_000, 'the system hook test delivery');
    expect(request.headers['x-gitlab-token']).toBe('plain-token');
    expect(verifiesV1a(hook.signingPublicKey, request)).toBe(true);
  });

  it('rotation: during the grace period both secrets verify (new signature first); after it, only the new one', async () => {
    const old = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const { hook, subject } = await createSubjectHook({ secret: old });
    const rotated = await graphql(t.url, ROTATE, { input: { id: hook.id } });
    const { secret: fresh, hook: after, userErrors } = rotated.data!.rotateHookSecret;
    expect(userErrors).toEqual([]);
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(fresh.slice(6), 'base64')).toHaveLength(32);
    const expires = Date.parse(after.previousSecretExpiresAt);
    expect(Math.abs(expires - (Date.now() + 24 * 3_600_000))).toBeLessThan(60_000);
    const during = await deliver(subject);
    const signatures = String(during.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(verifiesV1(old, during)).toBe(true);
    expect(verifiesV1(fresh, during)).toBe(true);
    expect(verifiesV1(`whsec_${Buffer.alloc(32, 4).toString('base64')}`, during)).toBe(false);
    const newFirst = new Webhook(fresh).sign(String(during.headers['webhook-id']), new Date(Number(during.headers['webhook-timestamp']) * 1000), during.body);
    expect(signatures[0]).toBe(newFirst);
    // Nothing else reads the secret back.
    const read = await graphql(t.url, `query($id: ID!) { hook(id: $id) { ${HOOK_FIELDS} } }`, { id: hook.id });
    expect(JSON.stringify(read)).not.toContain(fresh.slice(6));

    // A grace of 2 seconds: once it is over, the old secret no longer verifies.
    const short = await createSubjectHook({ secret: old });
    const second = await graphql(t.url, ROTATE, { input: { id: short.hook.id, secret: 'brand-new-secret', graceHours: 2 / 3600 } });
    expect(second.data?.rotateHookSecret).toMatchObject({ secret: 'brand-new-secret', userErrors: [] });
    const end = Date.parse(second.data!.rotateHookSecret.hook.previousSecretExpiresAt);
    await eventually(async () => Date.now() > end + 50, 10_000, 'the end of the grace period');
    const later = await deliver(short.subject);
    expect(String(later.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifiesV1(Buffer.from('brand-new-secret').toString('base64'), later)).toBe(true);
    expect(verifiesV1(old, later)).toBe(false);
  });

  it('rotation of an Ed25519 hook generates a key; updateHook replaces a secret at once; graceHours outside 0..168 is refused', async () => {
    const { hook, subject } = await createSubjectHook({ signatureScheme: 'ED25519' });
    const rotated = (await graphql(t.url, ROTATE, { input: { id: hook.id, graceHours: 1 } })).data!.rotateHookSecret;
    expect(rotated.secret).toMatch(/^whsk_/);
    expect(rotated.hook.signingPublicKey).not.toBe(hook.signingPublicKey);
    const request = await deliver(subject);
    expect(String(request.headers['webhook-signature'])).toMatch(/^v1a,\S+ v1a,\S+$/);
    expect(verifiesV1a(rotated.hook.signingPublicKey, request)).toBe(true);
    expect(verifiesV1a(hook.signingPublicKey, request)).toBe(true);

    const updated = await graphql(t.url, UPDATE, { input: { id: hook.id, secret: 'replaced' } });
    expect(updated.data?.updateHook.hook).toMatchObject({ previousSecretExpiresAt: null, signingPublicKey: null });
    const replaced = await deliver(subject);
    expect(String(replaced.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifiesV1(Buffer.from('replaced').toString('base64'), replaced)).toBe(true);

    for (const graceHours of [-1, 168.5, 1000]) {
      const refused = await graphql(t.url, ROTATE, { input: { id: hook.id, graceHours } });
      expect(refused.data?.rotateHookSecret.userErrors).toEqual([
        { field: ['input', 'graceHours'], message: 'must be between 0 and 168', code: 'VALIDATION_FAILED' },
      ]);
    }
  });

  it('GitLab signing_token: deliveries signed with it (v1), X-Gitlab-Token stays the plain token; presence flags; bad tokens 422', async () => {
    const admin = { 'private-token': t.adminToken };
    const signingToken = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
    const created = await call(t.url, 'POST', '/api/v4/hooks', {
      headers: admin,
      body: { url: `${r.url}/gl-signed`, token: 'plain-token', signing_token: signingToken },
    });
    expect(created.status, created.text).toBe(201);
    const hook = created.body as Record<string, unknown>;
    expect(Object.keys(hook).slice(-4)).toEqual(['disabled_until', 'custom_headers', 'token_present', 'signing_token_present']);
    expect(hook).toMatchObject({ custom_headers: [], token_present: true, signing_token_present: true });
    expect(created.text).not.toContain(signingToken.slice(6));
    expect(created.text).not.toContain('plain-token');

    const test = await call(t.url, 'POST', `/api/v4/hooks/${hook.id}`, { headers: admin, body: {} });
    expect(test.status).toBe(201);
    const request = await eventually(async () => r.requests.find((q) => q.path === '/gl-signed'), 10_000, 'the signed system hook delivery');
    expect(request.headers['x-gitlab-token']).toBe('plain-token');
    expect(verifiesV1(signingToken, request)).toBe(true);
    expect(verifiesV1(Buffer.from('plain-token').toString('base64'), request)).toBe(false);
    const viaGraphql = await graphql(t.url, `query($id: ID!) { hook(id: $id) { hasSigningToken hasSecret } }`, { id: globalId(Number(hook.id)) });
    expect(viaGraphql.data?.hook).toEqual({ hasSigningToken: true, hasSecret: true });

    // Removing the signing token: the token signs again.
    const cleared = await call(t.url, 'PUT', `/api/v4/hooks/${hook.id}`, { headers: admin, body: { signing_token: '' } });
    expect(cleared.body).toMatchObject({ token_present: true, signing_token_present: false });
    await call(t.url, 'POST', `/api/v4/hooks/${hook.id}`, { headers: admin, body: {} });
    const unsignedByToken = await eventually(async () => r.requests.filter((q) => q.path === '/gl-signed')[1], 10_000, 'the second delivery');
    expect(verifiesV1(Buffer.from('plain-token').toString('base64'), unsignedByToken)).toBe(true);

    const bare = await call(t.url, 'POST', '/api/v4/hooks', { headers: admin, body: { url: `${r.url}/gl-bare` } });
    expect(bare.body).toMatchObject({ token_present: false, signing_token_present: false });
    for (const bad of [
      'abc',
      'whsec_',
      `whsec_${Buffer.alloc(16).toString('base64')}`,
      `whsec_${Buffer.alloc(33).toString('base64')}`,
      `whsk_${Buffer.alloc(32, 1).toString('base64')}`,
      'whsec_***',
    ]) {
      const answer = await call(t.url, 'PUT', `/api/v4/hooks/${hook.id}`, { headers: admin, body: { signing_token: bad } });
      expect(answer.status, bad).toBe(422);
      expect(answer.body).toEqual({ message: { signing_token: ['is invalid'] } });
    }
    // GraphQL's signingToken: the same rule; a subject hook has none.
    const refused = await graphql(t.url, UPDATE, { input: { id: globalId(Number(hook.id)), signingToken: 'whsec_short' } });
    expect(refused.data?.updateHook.userErrors).toEqual([{ field: ['input', 'signingToken'], message: 'is invalid', code: 'VALIDATION_FAILED' }]);
    const subjectToken = await graphql(t.url, CREATE, {
      input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'sign/tok', events: ['build:complete'], url: r.url, signingToken },
    });
    expect(subjectToken.data?.createHook.userErrors).toMatchObject([{ field: ['input', 'signingToken'], message: 'applies to system hooks only' }]);
  });

  const globalId = (databaseId: number) => Buffer.from(`Hook:${databaseId}`).toString('base64');
});

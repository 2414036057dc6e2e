// Portal links over real HTTP on each backend: `createPortalSession` (admins only, ttl rules), and
// the token it makes, which acts as a non-admin of one namespace until it expires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

const CREATE_PORTAL = `mutation($input: CreatePortalSessionInput!) {
  createPortalSession(input: $input) { url expiresAt userErrors { field message code } }
}`;
const CREATE_HOOK = `mutation($input: CreateHookInput!) { createHook(input: $input) { hook { subject } userErrors { field message } } }`;
const HOOK_SUBJECTS = '{ hooks(first: 100) { nodes { kind subject } } }';
const FRAME_ANCESTORS = 'https://app.customer.example';

describe.each(backends)('portal sessions on %s', (backend) => {
  let t: TestApp;
  let alice: { token: string };

  beforeAll(async () => {
    t = await startTestApp(backend, { HOOKGATE_CONSOLE_FRAME_ANCESTORS: FRAME_ANCESTORS });
    alice = await createUser(t.app, 'alice');
    const hook = (subject: string) => ({ kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject, events: ['build:complete'], url: 'https://example.com/hook' });
    for (const input of [hook('acme/shop'), hook('other/shop'), { kind: 'SYSTEM', url: 'https://example.com/system' }]) {
      expect((await graphql(t.url, CREATE_HOOK, { input })).data!.createHook.userErrors).toEqual([]);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const portalToken = async (input: Record<string, unknown>) => {
    const res = await graphql(t.url, CREATE_PORTAL, { input });
    expect(res.data!.createPortalSession.userErrors).toEqual([]);
    const url = res.data!.createPortalSession.url as string;
    return { token: url.slice(url.indexOf('#portal=') + '#portal='.length), url, expiresAt: res.data!.createPortalSession.expiresAt as string };
  };

  it('answers an absolute console URL on this server, valid for 60 minutes by default', async () => {
    const before = Date.now();
    const { url, token, expiresAt } = await portalToken({ namespace: 'acme' });
    expect(url).toBe(`${t.url}/console#portal=${token}`);
    expect(token).toMatch(/^hgp_[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 60 * 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 60 * 60_000);
    const longest = await portalToken({ namespace: 'acme', ttlMinutes: 1440 });
    expect(Date.parse(longest.expiresAt)).toBeGreaterThanOrEqual(before + 1440 * 60_000);
  });

  it('refuses a ttl outside 1 to 1440 minutes and a malformed namespace, naming the field', async () => {
    for (const [input, field] of [
      [{ namespace: 'acme', ttlMinutes: 1441 }, 'ttlMinutes'],
      [{ namespace: 'acme', ttlMinutes: 0 }, 'ttlMinutes'],
      [{ namespace: 'acme/shop' }, 'namespace'],
    ] as const) {
      const res = await graphql(t.url, CREATE_PORTAL, { input });
      expect(res.data!.createPortalSession).toMatchObject({ url: null, expiresAt: null, userErrors: [{ field: ['input', field], code: 'VALIDATION_FAILED' }] });
    }
  });

  it('is for administrators only', async () => {
    const res = await graphql(t.url, CREATE_PORTAL, { input: { namespace: 'alice' } }, alice.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('acts as a non-admin of its namespace: sees and adds only its subject hooks', async () => {
    const { token } = await portalToken({ namespace: 'acme' });
    expect((await graphql(t.url, HOOK_SUBJECTS, {}, token)).data!.hooks.nodes).toEqual([{ kind: 'SUBJECT', subject: 'acme/shop' }]);
    // The console's header shows whom the link acts as.
    expect((await graphql(t.url, '{ viewer { username isAdmin databaseId } }', {}, token)).data!.viewer).toEqual({
      username: 'acme',
      isAdmin: false,
      databaseId: 0,
    });

    const mine = await graphql(
      t.url,
      CREATE_HOOK,
      { input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'acme/api', events: ['build:complete'], url: 'https://example.com/a' } },
      token,
    );
    expect(mine.data!.createHook).toEqual({ hook: { subject: 'acme/api' }, userErrors: [] });
    const theirs = await graphql(
      t.url,
      CREATE_HOOK,
      { input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'other/api', events: ['build:complete'], url: 'https://example.com/b' } },
      token,
    );
    expect(theirs.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const system = await graphql(t.url, CREATE_HOOK, { input: { kind: 'SYSTEM', url: 'https://example.com/s' } }, token);
    expect(system.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const portal = await graphql(t.url, CREATE_PORTAL, { input: { namespace: 'other' } }, token);
    expect(portal.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('stops working once it has expired', async () => {
    const { token } = await portalToken({ namespace: 'acme' });
    expect((await graphql(t.url, HOOK_SUBJECTS, {}, token)).errors).toBeUndefined();
    await t.app.db.prisma.portalSession.updateMany({ data: { expiresAt: new Date(Date.now() - 1) } });
    const res = await graphql(t.url, HOOK_SUBJECTS, {}, token);
    expect(res.errors?.[0]).toMatchObject({ message: 'The portal link is not valid or has expired', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('serves /console with frame-ancestors from HOOKGATE_CONSOLE_FRAME_ANCESTORS', async () => {
    const res = await fetch(`${t.url}/console`, { method: 'HEAD' });
    expect(res.headers.get('content-security-policy')).toContain(`frame-ancestors ${FRAME_ANCESTORS}`);
    expect((await fetch(`${t.url}/console/assets/not-built.js`)).status).toBe(404);
    expect((await fetch(`${t.url}/console`, { method: 'POST' })).status).toBe(405);
  });
});

describe('HOOKGATE_CONSOLE_FRAME_ANCESTORS', () => {
  it("defaults to 'self' and refuses a value that would end the directive", () => {
    expect(loadConfig({}).HOOKGATE_CONSOLE_FRAME_ANCESTORS).toBe("'self'");
    expect(() => loadConfig({ HOOKGATE_CONSOLE_FRAME_ANCESTORS: "'self'; script-src *" })).toThrow(ConfigError);
  });
});

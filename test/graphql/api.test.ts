// The GraphQL API over real HTTP against each backend: success, user errors, authentication and
// authorization (the namespace rules come from the domain).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

const HOOK_FIELDS = `id databaseId kind url name description subjectType subject events isActive hasSecret
  enableSslVerification pushEventsBranchFilter branchFilterStrategy urlVariables { key } alertStatus disabledUntil
  createdBy { username } createdAt updatedAt`;

const CREATE_HOOK = `mutation($input: CreateHookInput!) {
  createHook(input: $input) { hook { ${HOOK_FIELDS} } userErrors { field message code } }
}`;

describe.each(backends)('GraphQL API on %s', (backend) => {
  let t: TestApp;
  let alice: { token: string };
  let bob: { token: string };

  beforeAll(async () => {
    t = await startTestApp(backend);
    alice = await createUser(t.app, 'alice');
    bob = await createUser(t.app, 'bob');
  });
  afterAll(async () => {
    await t?.close();
  });

  const subjectHook = (subject: string, extra: Record<string, unknown> = {}) => ({
    kind: 'SUBJECT',
    subjectType: 'BUILD_REPO',
    subject,
    events: ['build:complete'],
    url: 'https://example.com/hook',
    ...extra,
  });

  describe('authentication', () => {
    it('answers viewer for a valid token', async () => {
      const res = await graphql(t.url, '{ viewer { id databaseId username isAdmin } }');
      expect(res.errors).toBeUndefined();
      expect(res.data!.viewer).toEqual({ id: encodeGlobalID('User', t.admin.id), databaseId: t.admin.id, username: 'root', isAdmin: true });
    });

    it('refuses a missing or bad token with a top-level UNAUTHENTICATED error', async () => {
      for (const token of [null, 'not-a-real-token']) {
        const res = await graphql(t.url, '{ viewer { username } }', {}, token);
        expect(res.status).toBe(200);
        expect(res.data?.viewer ?? null).toBeNull();
        expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      const mutation = await graphql(
        t.url,
        'mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id } } }',
        { input: subjectHook('root/x') },
        null,
      );
      expect(mutation.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(mutation.data ?? null).toBeNull();
    });

    it('still allows introspection without a token (GraphiQL loads the schema first)', async () => {
      const res = await graphql(t.url, '{ __schema { queryType { name } } }', {}, null);
      expect(res.errors).toBeUndefined();
      expect(res.data!.__schema.queryType.name).toBe('Query');
    });

    it('answers application/graphql-response+json only to clients that accept it', async () => {
      const plain = await graphql(t.url, '{ viewer { username } }');
      expect(plain.contentType).toMatch(/^application\/json/);
      const modern = await graphql(t.url, '{ viewer { username } }', {}, ADMIN_TOKEN, {
        accept: 'application/graphql-response+json, application/json;q=0.9',
      });
      expect(modern.contentType).toMatch(/^application\/graphql-response\+json/);
      expect(modern.data!.viewer.username).toBe('root');
    });
  });

  describe('hooks', () => {
    it('creates a subject hook whose databaseId is its database (REST) id; the secret stays write-only', async () => {
      const res = await graphql(t.url, CREATE_HOOK, { input: subjectHook('root/app', { name: 'CI', secret: 's3cret' }) });
      expect(res.errors).toBeUndefined();
      const { hook, userErrors } = res.data!.createHook;
      expect(userErrors).toEqual([]);
      const row = await t.app.db.prisma.hook.findFirstOrThrow({ where: { subject: 'root/app' } });
      expect(hook).toMatchObject({
        id: encodeGlobalID('Hook', row.id),
        databaseId: row.id,
        kind: 'SUBJECT',
        url: 'https://example.com/hook',
        name: 'CI',
        subjectType: 'BUILD_REPO',
        subject: 'root/app',
        events: ['build:complete'],
        isActive: true,
        hasSecret: true,
        branchFilterStrategy: 'WILDCARD',
        urlVariables: [],
        alertStatus: 'executable',
        disabledUntil: null,
        createdBy: { username: 'root' },
      });
      expect(hook.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(JSON.stringify(res)).not.toContain('s3cret');
      expect(row.secret).toBe('s3cret');
    });

    it('creates a system hook with GitLab defaults and its events', async () => {
      const res = await graphql(t.url, CREATE_HOOK, {
        input: { kind: 'SYSTEM', url: 'https://example.com/system', events: ['push', 'tag_push'], secret: 'tok', pushEventsBranchFilter: 'main' },
      });
      expect(res.data!.createHook.userErrors).toEqual([]);
      expect(res.data!.createHook.hook).toMatchObject({
        kind: 'SYSTEM',
        subjectType: null,
        subject: null,
        events: ['push', 'tag_push'],
        enableSslVerification: true,
        hasSecret: true,
        pushEventsBranchFilter: 'main',
        branchFilterStrategy: 'WILDCARD',
      });
    });

    it('reports bad input as userErrors with input paths and codes, never as top-level errors', async () => {
      const res = await graphql(t.url, CREATE_HOOK, { input: subjectHook('root/app', { url: 'ftp://example.com', events: ['image:push'] }) });
      expect(res.errors).toBeUndefined();
      expect(res.data!.createHook.hook).toBeNull();
      expect(res.data!.createHook.userErrors).toEqual(
        expect.arrayContaining([
          { field: ['input', 'url'], message: expect.stringContaining('http'), code: 'VALIDATION_FAILED' },
          { field: ['input', 'events'], message: expect.stringContaining('image:push'), code: 'VALIDATION_FAILED' },
        ]),
      );

      // Caught by the zod schema before the domain sees it.
      const long = await graphql(t.url, CREATE_HOOK, { input: subjectHook('root/app', { name: 'n'.repeat(300) }) });
      expect(long.errors).toBeUndefined();
      expect(long.data!.createHook.userErrors).toEqual([{ field: ['input', 'name'], message: expect.any(String), code: 'VALIDATION_FAILED' }]);

      // A system hook's secret is its X-Gitlab-Token header; a subject hook's may be any text.
      const token = await graphql(t.url, CREATE_HOOK, { input: { kind: 'SYSTEM', url: 'https://example.com/sys', secret: 'jeton secret é' } });
      expect(token.data!.createHook.userErrors).toEqual([
        { field: ['input', 'secret'], message: expect.stringContaining('X-Gitlab-Token'), code: 'VALIDATION_FAILED' },
      ]);
      const unicode = await graphql(t.url, CREATE_HOOK, { input: subjectHook('root/app', { secret: 'clé secrète 🔑' }) });
      expect(unicode.data!.createHook.userErrors).toEqual([]);

      const missing = await graphql(t.url, CREATE_HOOK, { input: { kind: 'SUBJECT', url: 'https://example.com' } });
      expect(missing.data!.createHook.userErrors.map((e: { field: string[] }) => e.field)).toEqual(
        expect.arrayContaining([
          ['input', 'subjectType'],
          ['input', 'subject'],
          ['input', 'events'],
        ]),
      );
    });

    it('reads a hook by id and by node, and pages through hooks with a filter and totalCount', async () => {
      const created = await graphql(t.url, CREATE_HOOK, { input: subjectHook('root/paged', { url: 'https://example.com/paged' }) });
      const { id, databaseId } = created.data!.createHook.hook;
      const byId = await graphql(t.url, 'query($id: ID!) { hook(id: $id) { databaseId url } }', { id });
      expect(byId.data!.hook).toEqual({ databaseId, url: 'https://example.com/paged' });
      const byNode = await graphql(t.url, 'query($id: ID!) { node(id: $id) { id ... on Hook { subject } } }', { id });
      expect(byNode.data!.node).toEqual({ id, subject: 'root/paged' });
      const unknown = await graphql(t.url, 'query($id: ID!) { hook(id: $id) { id } }', { id: encodeGlobalID('Hook', 999999) });
      expect(unknown.data!.hook).toBeNull();
      const wrongType = await graphql(t.url, 'query($id: ID!) { hook(id: $id) { id } }', { id: encodeGlobalID('User', databaseId) });
      expect(wrongType.data!.hook).toBeNull();

      const all = await graphql(t.url, '{ hooks { totalCount nodes { databaseId } } }');
      const total = all.data!.hooks.totalCount;
      expect(total).toBeGreaterThanOrEqual(3);
      const ids = all.data!.hooks.nodes.map((n: { databaseId: number }) => n.databaseId);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));

      const page1 = await graphql(t.url, '{ hooks(first: 2) { totalCount edges { cursor node { databaseId } } pageInfo { hasNextPage endCursor } } }');
      expect(page1.data!.hooks.edges).toHaveLength(2);
      expect(page1.data!.hooks.pageInfo.hasNextPage).toBe(true);
      const page2 = await graphql(t.url, 'query($after: String) { hooks(first: 2, after: $after) { nodes { databaseId } } }', {
        after: page1.data!.hooks.pageInfo.endCursor,
      });
      expect(page2.data!.hooks.nodes[0].databaseId).toBe(ids[2]);

      const system = await graphql(t.url, '{ hooks(filter: { kind: SYSTEM }) { totalCount nodes { kind } } }');
      expect(system.data!.hooks.nodes.every((n: { kind: string }) => n.kind === 'SYSTEM')).toBe(true);
      expect(system.data!.hooks.totalCount).toBe(system.data!.hooks.nodes.length);
      const bySubject = await graphql(
        t.url,
        '{ hooks(filter: { subjectType: BUILD_REPO, subject: "root/paged", isActive: true }) { totalCount nodes { subject } } }',
      );
      expect(bySubject.data!.hooks).toEqual({ totalCount: 1, nodes: [{ subject: 'root/paged' }] });
    });

    it('updates any field, refuses to change the subject, and deletes', async () => {
      const created = await graphql(t.url, CREATE_HOOK, { input: subjectHook('root/upd', { secret: 'x' }) });
      const { id, databaseId } = created.data!.createHook.hook;
      const update = `mutation($input: UpdateHookInput!) { updateHook(input: $input) { hook { url name isActive hasSecret } userErrors { field message code } } }`;
      const ok = await graphql(t.url, update, { input: { id, url: 'https://example.com/new', name: 'renamed', isActive: false, secret: null } });
      expect(ok.data!.updateHook).toEqual({ hook: { url: 'https://example.com/new', name: 'renamed', isActive: false, hasSecret: false }, userErrors: [] });

      const subject = await graphql(t.url, update, { input: { id, subject: 'root/other' } });
      expect(subject.data!.updateHook).toEqual({
        hook: null,
        userErrors: [{ field: ['input', 'subject'], message: 'cannot be changed', code: 'VALIDATION_FAILED' }],
      });
      const badId = await graphql(t.url, update, { input: { id: 'garbage', name: 'x' } });
      expect(badId.data!.updateHook.userErrors).toEqual([{ field: ['input', 'id'], message: expect.any(String), code: 'VALIDATION_FAILED' }]);

      const del = 'mutation($input: DeleteHookInput!) { deleteHook(input: $input) { deletedHookId userErrors { field message code } } }';
      const deleted = await graphql(t.url, del, { input: { id } });
      expect(deleted.data!.deleteHook).toEqual({ deletedHookId: id, userErrors: [] });
      expect(await t.app.db.prisma.hook.findUnique({ where: { id: databaseId } })).toBeNull();
      const again = await graphql(t.url, del, { input: { id } });
      expect(again.data!.deleteHook).toEqual({ deletedHookId: null, userErrors: [{ field: ['input', 'id'], message: 'Hook not found', code: 'NOT_FOUND' }] });
      const gone = await graphql(t.url, update, { input: { id, name: 'x' } });
      expect(gone.data!.updateHook.userErrors[0].code).toBe('NOT_FOUND');
    });

    it('sets and deletes URL variables; values are never readable', async () => {
      const created = await graphql(t.url, CREATE_HOOK, { input: subjectHook('root/vars', { url: 'https://example.com/{token}' }) });
      const hookId = created.data!.createHook.hook.id;
      const set = `mutation($input: SetUrlVariableInput!) { setUrlVariable(input: $input) { hook { urlVariables { key } } userErrors { field message code } } }`;
      const ok = await graphql(t.url, set, { input: { hookId, key: 'token', value: 'very-secret-value' } });
      expect(ok.data!.setUrlVariable).toEqual({ hook: { urlVariables: [{ key: 'token' }] }, userErrors: [] });
      expect(JSON.stringify(ok)).not.toContain('very-secret-value');

      const badKey = await graphql(t.url, set, { input: { hookId, key: '1bad key', value: 'v' } });
      expect(badKey.data!.setUrlVariable.userErrors).toEqual([{ field: ['input', 'key'], message: expect.any(String), code: 'VALIDATION_FAILED' }]);
      const emptyValue = await graphql(t.url, set, { input: { hookId, key: 'other', value: '' } });
      expect(emptyValue.data!.setUrlVariable.userErrors).toEqual([{ field: ['input', 'value'], message: expect.any(String), code: 'VALIDATION_FAILED' }]);
      const noHook = await graphql(t.url, set, { input: { hookId: encodeGlobalID('Hook', 999999), key: 'k', value: 'v' } });
      expect(noHook.data!.setUrlVariable.userErrors).toEqual([{ field: ['input', 'hookId'], message: 'Hook not found', code: 'NOT_FOUND' }]);

      const del = `mutation($input: DeleteUrlVariableInput!) { deleteUrlVariable(input: $input) { hook { urlVariables { key } } userErrors { field message code } } }`;
      const deleted = await graphql(t.url, del, { input: { hookId, key: 'token' } });
      expect(deleted.data!.deleteUrlVariable).toEqual({ hook: { urlVariables: [] }, userErrors: [] });
      const again = await graphql(t.url, del, { input: { hookId, key: 'token' } });
      expect(again.data!.deleteUrlVariable.userErrors).toEqual([{ field: ['input', 'key'], message: 'URL variable not found', code: 'NOT_FOUND' }]);
    });
  });

  describe('authorization', () => {
    it('lets a user manage hooks in its own namespace and see only those', async () => {
      const own = await graphql(t.url, CREATE_HOOK, { input: subjectHook('alice/app') }, alice.token);
      expect(own.data!.createHook.userErrors).toEqual([]);
      expect(own.data!.createHook.hook.createdBy).toEqual({ username: 'alice' });
      await graphql(t.url, CREATE_HOOK, { input: subjectHook('bob/app') }, bob.token);

      const list = await graphql(t.url, '{ hooks(first: 100) { totalCount nodes { subject kind } } }', {}, alice.token);
      expect(list.data!.hooks).toEqual({ totalCount: 1, nodes: [{ subject: 'alice/app', kind: 'SUBJECT' }] });
      const viewer = await graphql(t.url, '{ viewer { username isAdmin } }', {}, alice.token);
      expect(viewer.data!.viewer).toEqual({ username: 'alice', isAdmin: false });
    });

    it("refuses hooks outside the namespace with FORBIDDEN, and hides others' hooks", async () => {
      const foreign = await graphql(t.url, CREATE_HOOK, { input: subjectHook('bob/other') }, alice.token);
      expect(foreign.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const system = await graphql(t.url, CREATE_HOOK, { input: { kind: 'SYSTEM', url: 'https://example.com/s' } }, alice.token);
      expect(system.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

      const bobs = await t.app.db.prisma.hook.findFirstOrThrow({ where: { subject: 'bob/app' } });
      const systemHook = await t.app.db.prisma.hook.findFirstOrThrow({ where: { kind: 'SYSTEM' } });
      for (const row of [bobs, systemHook]) {
        const id = encodeGlobalID('Hook', row.id);
        const read = await graphql(t.url, 'query($id: ID!) { hook(id: $id) { id } node(id: $id) { id } }', { id }, alice.token);
        expect(read.errors).toBeUndefined();
        expect(read.data).toEqual({ hook: null, node: null });
        const update = await graphql(
          t.url,
          'mutation($input: UpdateHookInput!) { updateHook(input: $input) { hook { id } userErrors { code } } }',
          {
            input: { id, name: 'mine now' },
          },
          alice.token,
        );
        expect(update.data!.updateHook).toEqual({ hook: null, userErrors: [{ code: 'NOT_FOUND' }] });
        const del = await graphql(
          t.url,
          'mutation($input: DeleteHookInput!) { deleteHook(input: $input) { userErrors { code } } }',
          { input: { id } },
          alice.token,
        );
        expect(del.data!.deleteHook.userErrors).toEqual([{ code: 'NOT_FOUND' }]);
      }
      const systemList = await graphql(t.url, '{ hooks(filter: { kind: SYSTEM }) { totalCount } }', {}, alice.token);
      expect(systemList.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });

    it('lets only admins create users', async () => {
      const mutation = `mutation($input: CreateUserInput!) { createUser(input: $input) { user { username isAdmin databaseId } token userErrors { field message code } } }`;
      const denied = await graphql(t.url, mutation, { input: { username: 'carol' } }, alice.token);
      expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(denied.data ?? null).toBeNull();
      expect(await t.app.db.prisma.user.findUnique({ where: { username: 'carol' } })).toBeNull();

      const created = await graphql(t.url, mutation, { input: { username: 'carol' } });
      expect(created.data!.createUser).toMatchObject({ user: { username: 'carol', isAdmin: false }, userErrors: [] });
      const carolToken = created.data!.createUser.token as string;
      const asCarol = await graphql(t.url, '{ viewer { username } }', {}, carolToken);
      expect(asCarol.data!.viewer).toEqual({ username: 'carol' });

      const duplicate = await graphql(t.url, mutation, { input: { username: 'carol' } });
      expect(duplicate.data!.createUser).toEqual({
        user: null,
        token: null,
        userErrors: [{ field: ['input', 'username'], message: 'has already been taken', code: 'CONFLICT' }],
      });
      const invalid = await graphql(t.url, mutation, { input: { username: 'no spaces' } });
      expect(invalid.data!.createUser.userErrors[0]).toMatchObject({ field: ['input', 'username'], code: 'VALIDATION_FAILED' });
    });

    it('lets users refetch themselves by node id, but not other users', async () => {
      const me = await graphql(t.url, '{ viewer { id } }', {}, alice.token);
      const self = await graphql(t.url, 'query($id: ID!) { node(id: $id) { ... on User { username } } }', { id: me.data!.viewer.id }, alice.token);
      expect(self.data!.node).toEqual({ username: 'alice' });
      const other = await graphql(
        t.url,
        'query($id: ID!) { node(id: $id) { ... on User { username } } }',
        { id: encodeGlobalID('User', t.admin.id) },
        alice.token,
      );
      expect(other.data!.node).toBeNull();
    });
  });
});

// Every validation and authorization rule of the hook service, on each backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database';
import type { Actor } from '../../src/domain/actor';
import { ForbiddenError, NotFoundError, ValidationError } from '../../src/domain/errors';
import { type CreateHookInput, HookService } from '../../src/domain/hooks';
import { UserService } from '../../src/domain/users';
import { backends, openTestDatabase } from '../helpers';

const subjectHook = (overrides: Partial<CreateHookInput> = {}): CreateHookInput => ({
  kind: 'SUBJECT',
  subjectType: 'BUILD_REPO',
  subject: 'alice/app',
  events: ['build:complete'],
  url: 'https://example.com/hook',
  ...overrides,
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

async function validationIssues(promise: Promise<unknown>): Promise<Array<{ field: string; message: string }>> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).issues;
}

describe.each(backends)('HookService on %s', (backend) => {
  let db: Database;
  let hooks: HookService;
  let root: Actor;
  let alice: Actor;
  let bob: Actor;

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    hooks = new HookService(db.prisma);
    const users = new UserService(db.prisma);
    const rootUser = await users.bootstrapAdmin('root-token-0123456789');
    root = { id: rootUser.id, username: 'root', isAdmin: true };
    alice = await users.authenticate((await users.createUser(root, { username: 'alice' })).token);
    bob = await users.authenticate((await users.createUser(root, { username: 'bob' })).token);
  });
  afterAll(async () => {
    await db.close();
  });

  describe('subject hooks', () => {
    it('creates with defaults, collapsing duplicate events', async () => {
      const hook = await hooks.create(alice, subjectHook({ events: ['build:complete', 'build:complete'], name: 'ci', secret: 's3cret' }));
      expect(hook).toMatchObject({
        kind: 'SUBJECT',
        subjectType: 'BUILD_REPO',
        subject: 'alice/app',
        namespace: 'alice',
        events: ['build:complete'],
        name: 'ci',
        secret: 's3cret',
        isActive: true,
        alertStatus: 'EXECUTABLE',
        createdById: alice.id,
      });
      expect(hook.createdBy?.username).toBe('alice');
      expect(hook.createdAt).toBeInstanceOf(Date);
    });

    it.each([
      ['BUILD_REPO', 'ns/repo', ['build:complete']],
      ['IMAGE_REPO', 'ns/image', ['image:push']],
      ['JOB', 'job-42', ['job:succeed', 'job:fail']],
    ] as const)('accepts the events of %s', async (subjectType, subject, events) => {
      const hook = await hooks.create(root, subjectHook({ subjectType, subject, events: [...events] }));
      expect(hook.events).toEqual(events);
      expect(hook.namespace).toBe(subjectType === 'JOB' ? null : 'ns');
    });

    it.each([
      ['BUILD_REPO', ['image:push']],
      ['IMAGE_REPO', ['build:complete']],
      ['JOB', ['build:complete', 'job:fail']],
      ['BUILD_REPO', []],
    ] as const)('rejects events that %s does not have: %j', async (subjectType, events) => {
      const subject = subjectType === 'JOB' ? '7' : 'ns/x';
      const issues = await validationIssues(hooks.create(root, subjectHook({ subjectType, subject, events: [...events] })));
      expect(issues.map((i) => i.field)).toEqual(['events']);
    });

    it.each([
      ['ftp://example.com/x', 'url'],
      ['/relative/path', 'url'],
      ['', 'url'],
      ['javascript:alert(1)', 'url'],
      [`https://example.com/${'a'.repeat(2100)}`, 'url'],
    ])('rejects the URL %j', async (url, field) => {
      const issues = await validationIssues(hooks.create(root, subjectHook({ url })));
      expect(issues[0]?.field).toBe(field);
    });

    it('accepts {placeholders} in the URL', async () => {
      const hook = await hooks.create(root, subjectHook({ url: 'https://example.com/{token}/x?k={key}' }));
      expect(hook.url).toBe('https://example.com/{token}/x?k={key}');
    });

    it('requires subject type, subject and events, and reports all of them', async () => {
      const issues = await validationIssues(hooks.create(root, { kind: 'SUBJECT', url: 'https://example.com' }));
      expect(issues.map((i) => i.field).sort()).toEqual(['events', 'subject', 'subjectType']);
    });

    it.each([
      ['BUILD_REPO', 'no-slash'],
      ['IMAGE_REPO', 'a/b/c'],
      ['JOB', 'has space'],
      ['BUILD_REPO', ''],
    ] as const)('rejects the subject %s %j', async (subjectType, subject) => {
      const events = subjectType === 'JOB' ? ['job:fail'] : subjectType === 'IMAGE_REPO' ? ['image:push'] : ['build:complete'];
      const issues = await validationIssues(hooks.create(root, subjectHook({ subjectType, subject, events })));
      expect(issues.map((i) => i.field)).toEqual(['subject']);
    });

    it('refuses branch filters and event flags, which belong to system hooks', async () => {
      const issues = await validationIssues(hooks.create(root, subjectHook({ pushEventsBranchFilter: 'main', eventToggles: { push: true } })));
      expect(issues.map((i) => i.field).sort()).toEqual(['events', 'pushEventsBranchFilter']);
    });

    it('never changes subject or subject type, but accepts them repeated unchanged', async () => {
      const hook = await hooks.create(alice, subjectHook());
      const issues = await validationIssues(hooks.update(alice, hook.id, { subject: 'alice/other' }));
      expect(issues.map((i) => i.field)).toEqual(['subject']);
      await expect(hooks.update(alice, hook.id, { subjectType: 'IMAGE_REPO' })).rejects.toBeInstanceOf(ValidationError);
      const same = await hooks.update(alice, hook.id, { subject: 'alice/app', subjectType: 'BUILD_REPO', name: 'renamed' });
      expect(same.name).toBe('renamed');
    });

    it('updates partially and keeps the rest', async () => {
      const hook = await hooks.create(alice, subjectHook({ name: 'a', secret: 'x' }));
      const updated = await hooks.update(alice, hook.id, { isActive: false, url: 'https://example.org/new' });
      expect(updated).toMatchObject({ name: 'a', secret: 'x', isActive: false, url: 'https://example.org/new', events: ['build:complete'] });
      expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(hook.updatedAt.getTime());
      await expect(hooks.update(alice, hook.id, { events: ['image:push'] })).rejects.toBeInstanceOf(ValidationError);
      expect((await hooks.get(alice, hook.id)).events).toEqual(['build:complete']);
    });

    it('re-enables a disabled hook when it is set active', async () => {
      const hook = await hooks.create(root, subjectHook());
      await db.prisma.hook.update({ where: { id: hook.id }, data: { alertStatus: 'DISABLED', recentFailures: 40, disabledUntil: new Date() } });
      const updated = await hooks.update(root, hook.id, { isActive: true });
      expect(updated).toMatchObject({ alertStatus: 'EXECUTABLE', recentFailures: 0, disabledUntil: null });
    });
  });

  describe('system hooks', () => {
    it("creates with GitLab's defaults", async () => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com/system' });
      expect(hook).toMatchObject({
        kind: 'SYSTEM',
        events: ['repository_update'],
        enableSslVerification: true,
        branchFilterStrategy: 'WILDCARD',
        pushEventsBranchFilter: null,
        subjectType: null,
        subject: null,
        namespace: null,
      });
    });

    it('switches events on and off with flags, in canonical order', async () => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com', eventToggles: { merge_request: true, push: true } });
      expect(hook.events).toEqual(['push', 'merge_request', 'repository_update']);
      const updated = await hooks.update(root, hook.id, { eventToggles: { repository_update: false, tag_push: true } });
      expect(updated.events).toEqual(['push', 'tag_push', 'merge_request']);
    });

    it('rejects unknown system events', async () => {
      const issues = await validationIssues(hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com', events: ['push', 'build:complete'] }));
      expect(issues.map((i) => i.field)).toEqual(['events']);
    });

    it('validates regex branch filters with RE2 and clears the filter for all_branches', async () => {
      const issues = await validationIssues(
        hooks.create(root, {
          kind: 'SYSTEM',
          url: 'https://example.com',
          branchFilterStrategy: 'REGEX',
          pushEventsBranchFilter: '(unclosed',
        }),
      );
      expect(issues).toEqual([{ field: 'pushEventsBranchFilter', message: 'not valid RE2 syntax' }]);
      // Backreferences and lookarounds are not RE2: refused rather than run by a backtracking engine.
      await expect(
        hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com', branchFilterStrategy: 'REGEX', pushEventsBranchFilter: '(a)\\1' }),
      ).rejects.toBeInstanceOf(ValidationError);
      const hook = await hooks.create(root, {
        kind: 'SYSTEM',
        url: 'https://example.com',
        branchFilterStrategy: 'REGEX',
        pushEventsBranchFilter: '^release/.*$',
      });
      expect(hook.pushEventsBranchFilter).toBe('^release/.*$');
      const all = await hooks.update(root, hook.id, { branchFilterStrategy: 'ALL_BRANCHES' });
      expect(all).toMatchObject({ branchFilterStrategy: 'ALL_BRANCHES', pushEventsBranchFilter: null });
    });

    it('refuses subject fields', async () => {
      const issues = await validationIssues(hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com', subject: 'a/b', subjectType: 'JOB' }));
      expect(issues.map((i) => i.field).sort()).toEqual(['subject', 'subjectType']);
    });

    it('are for admins only', async () => {
      await expect(hooks.create(alice, { kind: 'SYSTEM', url: 'https://example.com' })).rejects.toBeInstanceOf(ForbiddenError);
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com' });
      await expect(hooks.get(alice, hook.id, 'SYSTEM')).rejects.toBeInstanceOf(ForbiddenError);
      await expect(hooks.list(alice, { kind: 'SYSTEM' })).rejects.toBeInstanceOf(ForbiddenError);
      // Without the dialect's narrowing, a system hook simply does not exist for a non-admin.
      await expect(hooks.get(alice, hook.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(hooks.update(alice, hook.id, { url: 'https://evil.example' })).rejects.toBeInstanceOf(NotFoundError);
      await expect(hooks.delete(alice, hook.id)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('access control', () => {
    it('lets users add hooks only in their own namespace, jobs as namespace/job-id', async () => {
      await expect(hooks.create(alice, subjectHook({ subject: 'bob/app' }))).rejects.toBeInstanceOf(ForbiddenError);
      const job = await hooks.create(alice, subjectHook({ subjectType: 'JOB', subject: 'alice/job-1', events: ['job:fail'] }));
      expect(job).toMatchObject({ createdById: alice.id, namespace: 'alice', subject: 'alice/job-1' });
      await expect(hooks.create(alice, subjectHook({ subjectType: 'JOB', subject: 'job-1', events: ['job:fail'] }))).rejects.toBeInstanceOf(ForbiddenError);
      await expect(hooks.create(alice, subjectHook({ subjectType: 'JOB', subject: 'bob/job-1', events: ['job:fail'] }))).rejects.toBeInstanceOf(ForbiddenError);
      expect((await hooks.create(root, subjectHook({ subjectType: 'JOB', subject: 'job-1', events: ['job:fail'] }))).namespace).toBeNull();
    });

    it('caps subject hooks per namespace, counting inside the creating transaction', async () => {
      const capped = new HookService(db.prisma, undefined, null, { maxHooksPerNamespace: 2 });
      const created = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => capped.create(root, subjectHook({ subject: `capped/app${i}` }))));
      expect(created.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
      for (const result of created) {
        if (result.status === 'rejected')
          expect((result.reason as ValidationError).issues).toEqual([{ field: 'subject', message: 'namespace capped already has the maximum of 2 hooks' }]);
      }
      // Bare job hooks have no namespace to count against.
      for (let i = 0; i < 3; i++) await capped.create(root, subjectHook({ subjectType: 'JOB', subject: `uncapped-${i}`, events: ['job:fail'] }));
    });

    it("hides others' hooks as not found", async () => {
      const mine = await hooks.create(bob, subjectHook({ subject: 'bob/secret-app' }));
      await expect(hooks.get(alice, mine.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(hooks.update(alice, mine.id, { name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
      await expect(hooks.delete(alice, mine.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(hooks.setUrlVariable(alice, mine.id, 'k', 'v')).rejects.toBeInstanceOf(NotFoundError);
      expect((await hooks.get(bob, mine.id)).id).toBe(mine.id);
      expect((await hooks.get(root, mine.id)).id).toBe(mine.id);
    });

    it('lets a creator manage a hook in a namespace they created it in for someone else', async () => {
      const hook = await hooks.create(root, subjectHook({ subject: 'carol/app' }));
      await expect(hooks.get(alice, hook.id)).rejects.toBeInstanceOf(NotFoundError);
      expect((await hooks.get(root, hook.id)).createdBy?.username).toBe('root');
    });

    it('lists only visible hooks, with filters combined by AND, ordered by id', async () => {
      const a1 = await hooks.create(alice, subjectHook({ subject: 'alice/list1' }));
      const a2 = await hooks.create(alice, subjectHook({ subject: 'alice/list2', isActive: false }));
      await hooks.create(bob, subjectHook({ subject: 'bob/list1' }));
      const { hooks: visible } = await hooks.list(alice);
      expect(visible.every((h) => h.namespace === 'alice' || h.createdById === alice.id)).toBe(true);
      expect(visible.map((h) => h.id)).toEqual([...visible.map((h) => h.id)].sort((x, y) => x - y));
      const { hooks: filtered } = await hooks.list(alice, { subjectType: 'BUILD_REPO', subject: 'alice/list1' });
      expect(filtered.map((h) => h.id)).toEqual([a1.id]);
      const { hooks: inactive } = await hooks.list(alice, { isActive: false, subject: 'alice/list2' });
      expect(inactive.map((h) => h.id)).toEqual([a2.id]);
      expect((await hooks.list(bob, { subject: 'alice/list1' })).hooks).toEqual([]);
    });

    it('pages with a total', async () => {
      const { hooks: page, total } = await hooks.list(root, {}, { skip: 1, take: 2 });
      expect(page).toHaveLength(2);
      expect(total).toBeGreaterThan(2);
    });

    it.each([0, -1, 2 ** 31, Number.NaN, 1.5])('treats the id %s as not found', async (id) => {
      await expect(hooks.get(root, id)).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('url variables', () => {
    it('sets, replaces and deletes, exposing keys only', async () => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com/{token}' });
      await hooks.setUrlVariable(root, hook.id, 'token', 'v1');
      const updated = await hooks.setUrlVariable(root, hook.id, 'token', 'v2');
      expect(updated.urlVariables).toEqual([{ key: 'token' }]);
      const stored = await db.prisma.urlVariable.findMany({ where: { hookId: hook.id } });
      expect(stored.map((v) => v.value)).toEqual(['v2']);
      const after = await hooks.deleteUrlVariable(root, hook.id, 'token');
      expect(after.urlVariables).toEqual([]);
      const missing = await rejection(hooks.deleteUrlVariable(root, hook.id, 'token'));
      expect(missing).toBeInstanceOf(NotFoundError);
      expect((missing as NotFoundError).resource).toBe('URL variable');
    });

    it.each(['a', 'abc', 'abc123', 'a.b', 'a_b-c.d9', 'A1.B2'])('accepts the key %j', async (key) => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com' });
      await expect(hooks.setUrlVariable(root, hook.id, key, 'v')).resolves.toBeTruthy();
    });

    it.each(['1abc', '_a', 'a..b', 'a-', 'a b', '', 'ä', 'a'.repeat(256), 'a1b'])('rejects the key %j', async (key) => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com' });
      const issues = await validationIssues(hooks.setUrlVariable(root, hook.id, key, 'v'));
      expect(issues[0]?.field).toBe('key');
    });

    it('rejects empty and oversized values', async () => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com' });
      expect((await validationIssues(hooks.setUrlVariable(root, hook.id, 'k', '')))[0]?.field).toBe('value');
      expect((await validationIssues(hooks.setUrlVariable(root, hook.id, 'k', 'x'.repeat(2049))))[0]?.field).toBe('value');
      await expect(hooks.setUrlVariable(root, hook.id, 'k', 'x'.repeat(2048))).resolves.toBeTruthy();
    });

    it('allows 20 variables per hook, even when set concurrently', async () => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com' });
      const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => hooks.setUrlVariable(root, hook.id, `k${i}`, 'v')));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.every((r) => r.reason instanceof ValidationError)).toBe(true);
      expect(await db.prisma.urlVariable.count({ where: { hookId: hook.id } })).toBe(20);
      // Replacing an existing key is still fine at the limit.
      await expect(hooks.setUrlVariable(root, hook.id, 'k0', 'new')).resolves.toBeTruthy();
    });

    it('are deleted with their hook', async () => {
      const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com' });
      await hooks.setUrlVariable(root, hook.id, 'k', 'v');
      await hooks.delete(root, hook.id);
      expect(await db.prisma.urlVariable.count({ where: { hookId: hook.id } })).toBe(0);
      await expect(hooks.get(root, hook.id)).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database';
import type { Actor } from '../../src/domain/actor';
import { ConflictError, ForbiddenError, UnauthenticatedError, ValidationError } from '../../src/domain/errors';
import { hashToken, UserService } from '../../src/domain/users';
import { backends, openTestDatabase } from '../helpers';

describe.each(backends)('UserService on %s', (backend) => {
  let db: Database;
  let users: UserService;
  let root: Actor;

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    users = new UserService(db.prisma);
    await users.bootstrapAdmin('first-admin-token-0123');
    root = await users.authenticate('first-admin-token-0123');
  });
  afterAll(async () => {
    await db.close();
  });

  it('bootstraps root as an admin and stores only the token hash', async () => {
    expect(root).toMatchObject({ username: 'root', isAdmin: true });
    const tokens = await db.prisma.apiToken.findMany({ where: { userId: root.id } });
    expect(tokens.map((t) => t.tokenHash)).toEqual([hashToken('first-admin-token-0123')]);
    expect(JSON.stringify(tokens)).not.toContain('first-admin-token-0123');
    expect(tokens[0]!.lastUsedAt).toBeInstanceOf(Date);
  });

  it('replaces the bootstrap token when HOOKGATE_ADMIN_TOKEN changes, and is idempotent', async () => {
    const other = new UserService(db.prisma);
    await other.bootstrapAdmin('second-admin-token-0123');
    await other.bootstrapAdmin('second-admin-token-0123');
    await expect(other.authenticate('first-admin-token-0123')).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(await other.authenticate('second-admin-token-0123')).toMatchObject({ id: root.id, isAdmin: true });
    expect(await db.prisma.user.count({ where: { username: 'root' } })).toBe(1);
    await other.bootstrapAdmin('first-admin-token-0123');
  });

  it('creates users with a token shown once', async () => {
    const { user, token } = await users.createUser(root, { username: 'dave' });
    expect(user).toMatchObject({ username: 'dave', isAdmin: false });
    expect(token).toMatch(/^hg_[A-Za-z0-9_-]{43}$/);
    expect(await users.authenticate(token)).toEqual({ id: user.id, username: 'dave', isAdmin: false });
    const stored = await db.prisma.apiToken.findFirstOrThrow({ where: { userId: user.id } });
    expect(stored.tokenHash).toBe(hashToken(token));
  });

  it('refuses duplicate and malformed usernames', async () => {
    await users.createUser(root, { username: 'erin' });
    await expect(users.createUser(root, { username: 'erin' })).rejects.toBeInstanceOf(ConflictError);
    for (const username of ['', ' ', 'has space', '-dash', 'x'.repeat(256), 'a/b']) {
      await expect(users.createUser(root, { username })).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it('lets only admins create users', async () => {
    const { token } = await users.createUser(root, { username: 'frank' });
    const frank = await users.authenticate(token);
    await expect(users.createUser(frank, { username: 'mallory' })).rejects.toBeInstanceOf(ForbiddenError);
    const { token: adminToken } = await users.createUser(root, { username: 'grace', isAdmin: true });
    const grace = await users.authenticate(adminToken);
    await expect(users.createUser(grace, { username: 'heidi' })).resolves.toBeTruthy();
  });

  it('issues more tokens for oneself, or for anyone as an admin', async () => {
    const { user, token } = await users.createUser(root, { username: 'ivan' });
    const ivan = await users.authenticate(token);
    const second = await users.issueToken(ivan, user.id, 'laptop');
    expect((await users.authenticate(second)).id).toBe(user.id);
    await expect(users.issueToken(ivan, root.id, 'steal')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(users.issueToken(root, user.id, '')).rejects.toBeInstanceOf(ValidationError);
  });

  it.each([undefined, null, '', 'nope', 'hg_' + 'x'.repeat(43)])('rejects the token %j', async (token) => {
    await expect(users.authenticate(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});

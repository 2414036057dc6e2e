// The SQL the REST hot paths cost: a hook by id (with its creator and url-variable keys) is one
// statement, so `GET /api/v4/hooks/:id` with a cached token is one database round-trip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database';
import type { Actor } from '../../src/domain/actor';
import { HookService } from '../../src/domain/hooks';
import { UserService } from '../../src/domain/users';
import { PrismaClient } from '../../src/generated/prisma/client';
import { backends, openTestDatabase } from '../helpers';

describe.each(backends)('hook queries on %s', (backend) => {
  let db: Database;
  let logged: PrismaClient<'query'>;
  let statements: string[] = [];
  let root: Actor;

  beforeAll(async () => {
    db = await openTestDatabase(backend);
    logged = new PrismaClient({ adapter: db.adapterFactory, log: [{ emit: 'event', level: 'query' }] }) as unknown as PrismaClient<'query'>;
    logged.$on('query', (event) => statements.push(event.query));
    const rootUser = await new UserService(db.prisma).bootstrapAdmin('root-token-0123456789');
    root = { id: rootUser.id, username: 'root', isAdmin: true };
  });
  afterAll(async () => {
    await logged.$disconnect();
    await db.close();
  });

  it('reads a hook with its creator and url variables in one statement', async () => {
    const hooks = new HookService(logged);
    const hook = await hooks.create(root, { kind: 'SYSTEM', url: 'https://example.com/{a}' });
    await hooks.setUrlVariable(root, hook.id, 'a', 'secret');
    statements = [];
    const found = await hooks.get(root, hook.id, 'SYSTEM');
    expect(found.urlVariables).toEqual([{ key: 'a' }]);
    expect(found.createdBy).toEqual({ id: root.id, username: 'root' });
    expect(statements).toHaveLength(1);
  });
});

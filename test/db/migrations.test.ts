import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database';
import { migrateDatabase } from '../../src/db/migrate';
import { readMigrations } from '../../src/db/schema-engine';
import { backends, createTestDatabase } from '../helpers';

describe.each(backends)('migrations on %s', { timeout: 120_000 }, (backend) => {
  it('apply from empty, then find nothing pending', async () => {
    const testDb = await createTestDatabase(backend, { empty: true });
    const db = await openDatabase(testDb.target);
    try {
      const all = (await readMigrations()).migrationDirectories.map((dir) => dir.path);
      expect(all.length).toBeGreaterThan(0);
      expect(await migrateDatabase(db)).toEqual(all);
      expect(await migrateDatabase(db)).toEqual([]);
      const tables = await db.prisma.$queryRaw<{ table_name: string }[]>`
        SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`;
      expect(tables.map((t) => t.table_name)).toEqual([
        '_prisma_migrations',
        'api_tokens',
        'custom_headers',
        'deliveries',
        'delivery_attempts',
        'events',
        'hooks',
        'idempotency_keys',
        'portal_sessions',
        'url_variables',
        'users',
      ]);
      const recorded = await db.prisma.$queryRaw<{ migration_name: string }[]>`
        SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`;
      expect(recorded.map((r) => r.migration_name)).toEqual(all);
    } finally {
      await db.close();
      await testDb.drop();
    }
  });
});

describe.runIf(backends.includes('postgres'))('concurrent migrations on postgres', () => {
  it('two processes migrating one database at once leave one clean history', async () => {
    const testDb = await createTestDatabase('postgres');
    const [a, b] = await Promise.all([openDatabase(testDb.target), openDatabase(testDb.target)]);
    try {
      const results = await Promise.all([migrateDatabase(a), migrateDatabase(b)]);
      const all = (await readMigrations()).migrationDirectories.map((dir) => dir.path);
      // One of them applied everything, the other found nothing pending.
      expect(results.map((r) => r.length).sort()).toEqual([0, all.length]);
      const rows = await a.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM _prisma_migrations`;
      expect(Number(rows[0]!.n)).toBe(all.length);
    } finally {
      await a.close();
      await b.close();
      await testDb.drop();
    }
  });
});

// Applies the committed migrations at start-up, like `prisma migrate deploy` but through the WASM
// schema engine over the app's own driver adapter.
import type { Database } from './database';
import { noFilters, openSchemaEngine, readMigrations } from './schema-engine';

/** Arbitrary but fixed: every Hookgate process takes this advisory lock to migrate. */
const MIGRATION_LOCK_KEY = 0x686f6f6b; // "hook"

/** Returns the names of the migrations it applied (none when the database is up to date). */
export async function migrateDatabase(db: Database): Promise<string[]> {
  // Concurrent starts on one PostgreSQL serialise here; the second finds nothing pending.
  return db.withLock(MIGRATION_LOCK_KEY, async () => {
    const migrations = await readMigrations();
    const pending = await pendingMigrationNames(
      db,
      migrations.migrationDirectories.map((dir) => dir.path),
    );
    if (pending.length === 0) return [];
    const engine = await openSchemaEngine(db.adapterFactory);
    try {
      const result = await engine.applyMigrations({ migrationsList: migrations, filters: noFilters });
      return result.appliedMigrationNames;
    } finally {
      engine.free();
    }
  });
}

/** Cheap check that skips loading the engine when every migration is already recorded as applied. */
async function pendingMigrationNames(db: Database, names: string[]): Promise<string[]> {
  const [table] = await db.prisma.$queryRaw<{ exists: boolean }[]>`
    SELECT to_regclass('_prisma_migrations') IS NOT NULL AS "exists"`;
  if (!table?.exists) return names;
  const applied = await db.prisma.$queryRaw<{ migration_name: string }[]>`
    SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  const done = new Set(applied.map((row) => row.migration_name));
  return names.filter((name) => !done.has(name));
}

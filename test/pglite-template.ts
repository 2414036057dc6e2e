// A migrated PGlite data directory, archived once per migration set. Starting an in-memory
// database from it takes about a second instead of initdb plus migrations (several seconds).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { openDatabase } from '../src/db/database';
import { migrateDatabase } from '../src/db/migrate';
import { readMigrations } from '../src/db/schema-engine';

const cacheDir = path.resolve(import.meta.dirname, '../node_modules/.cache/hookgate-test');

async function templatePath(): Promise<string> {
  const migrations = await readMigrations();
  const hash = createHash('sha256').update(JSON.stringify(migrations.migrationDirectories)).update(PGlite.name).digest('hex').slice(0, 16);
  return path.join(cacheDir, `pglite-${hash}.tar.gz`);
}

/** Creates the template archive unless it exists (run once, from vitest's global setup). */
export async function ensurePgliteTemplate(): Promise<void> {
  const file = await templatePath();
  if (existsSync(file)) return;
  const db = await openDatabase({ kind: 'pglite', dataDir: null, inProcess: true });
  try {
    await migrateDatabase(db);
    const pglite = db.pglite;
    if (!pglite) throw new Error('expected a PGlite database');
    const archive = await pglite.dumpDataDir('gzip');
    await mkdir(cacheDir, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, Buffer.from(await archive.arrayBuffer()));
    await rename(temporary, file);
  } finally {
    await db.close();
  }
}

let cached: Promise<Blob> | undefined;
export function pgliteTemplate(): Promise<Blob> {
  cached ??= (async () => {
    await ensurePgliteTemplate();
    return new Blob([await readFile(await templatePath())]);
  })();
  return cached;
}

// Runs `prisma generate` offline. The CLI insists on locating a schema-engine binary even though
// generation never uses it, and none can be downloaded here: any existing file satisfies it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

// The Pothos generator is a bin of @pothos/plugin-prisma; make it findable outside `npm run` too.
const bin = path.resolve('node_modules/.bin');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], { stdio: 'inherit', env });
if (result.status !== 0) process.exit(result.status ?? 1);
// The console's static files (dist/console) are built here too, never committed.
const consoleBuild = spawnSync(process.execPath, ['scripts/build-console.mjs'], { stdio: 'inherit', env });
process.exit(consoleBuild.status ?? 1);

// Builds the Hookgate Console (src/console) into dist/console with Vite; run by `npm install`.
// The console sends persisted operations: each operation's id comes from persisted-operations.json,
// and the build fails if an operation is missing there (run `npm run operations`).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { build } from 'vite';

const root = new URL('../', import.meta.url);
const operations = new URL('src/console/operations/', root);
const manifest = JSON.parse(readFileSync(new URL('persisted-operations.json', root), 'utf8'));
const ids = {};
for (const file of readdirSync(operations)
  .filter((name) => name.endsWith('.graphql'))
  .sort()) {
  const text = readFileSync(new URL(file, operations), 'utf8');
  const id = createHash('sha256').update(text, 'utf8').digest('hex');
  if (manifest[id] !== text) {
    console.error(`src/console/operations/${file} is not in persisted-operations.json: run \`npm run operations\``);
    process.exit(1);
  }
  // The file is named for its operation (Hooks.graphql holds `query Hooks`).
  ids[file.slice(0, -'.graphql'.length)] = id;
}

await build({
  configFile: new URL('src/console/vite.config.ts', root).pathname,
  define: { __HOOKGATE_OPERATION_IDS__: JSON.stringify(ids) },
});

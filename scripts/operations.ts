// `npm run operations`: rewrites persisted-operations.json from the `.graphql` documents of
// Hookgate's own clients (the console's operations, GraphiQL's examples). A test fails while the
// committed file is stale; the console build takes its document ids from it.
import { writeFileSync } from 'node:fs';
import { buildManifest, MANIFEST_FILE, serializeManifest } from '../src/graphql/persisted-manifest';

const manifest = buildManifest();
writeFileSync(MANIFEST_FILE, serializeManifest(manifest));
process.stdout.write(`wrote ${MANIFEST_FILE} (${Object.keys(manifest).length} documents)\n`);

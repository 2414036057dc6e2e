// `npm run schema`: rewrites schema.graphql from the code-first schema. A test fails when the
// committed file is stale, so front-end work can rely on it.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSortedSchema } from '../src/graphql/schema';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
writeFileSync(target, `${printSortedSchema()}\n`);
process.stdout.write(`wrote ${target}\n`);

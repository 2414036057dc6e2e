// `npm run bench`: each scenario against Hookgate on PGlite and (when reachable) PostgreSQL, with
// the ratio to a bare node:http baseline measured in the same run. BENCH_DURATION=seconds per load.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compare, postgresAvailable, startTarget, type Target } from './lib';
import { restScenarios } from './rest';

type Scenario = (target: Target) => Promise<void>;

const scenarios: Scenario[] = [
  (target) => compare(`[${target.name}] GET /healthz`, target.hookgate.url, { path: '/healthz' }, JSON.stringify({ status: 'ok' })),
  ...restScenarios,
];

const backends: Target['name'][] = ['pglite'];
if (await postgresAvailable()) backends.push('postgres');
else console.log('PostgreSQL is not reachable: benchmarking PGlite only (set BENCH_DATABASE_URL).');

for (const backend of backends) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hookgate-bench-'));
  const target = await startTarget(backend, dataDir);
  try {
    for (const scenario of scenarios) await scenario(target);
  } finally {
    await target.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// `npm run bench`: each scenario against Hookgate on PGlite and (when reachable) PostgreSQL, with
// the ratio to a bare node:http baseline measured in the same run. BENCH_DURATION=seconds per load.
import { benchDelivery } from './delivery';
import { formatResults, runGraphQLBenchmarks } from './graphql';
import { DURATION_S, compare, postgresAvailable, runScenarios, type Scenario } from './lib';
import { restScenarios } from './rest';

const scenarios: Scenario[] = [
  (target) => compare(`[${target.name}] GET /healthz`, target.hookgate.url, { path: '/healthz' }, JSON.stringify({ status: 'ok' })),
  ...restScenarios,
];

await runScenarios(scenarios);

const graphql = await runGraphQLBenchmarks({ duration: DURATION_S });
process.stdout.write(`${formatResults(graphql)}\n`);

await benchDelivery({ postgresUrl: (await postgresAvailable()) ? process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' : null });

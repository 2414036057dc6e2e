// `npm run bench`: each scenario against Hookgate on PGlite and (when reachable) PostgreSQL, with
// the ratio to a bare node:http baseline measured in the same run. BENCH_DURATION=seconds per load.
import { benchDelivery } from './delivery';
import { benchGraphQL } from './graphql';
import { compare, runScenarios, type Scenario } from './lib';
import { restScenarios } from './rest';

const scenarios: Scenario[] = [
  (target) => compare(`[${target.name}] GET /healthz`, target.hookgate.url, { path: '/healthz' }, JSON.stringify({ status: 'ok' })),
  ...restScenarios,
];

await runScenarios(scenarios);

await benchGraphQL();

await benchDelivery();

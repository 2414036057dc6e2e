// `npm run bench`: every benchmark scenario of Hookgate, one after the other.
import { formatResults, runGraphQLBenchmarks } from './graphql';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const graphql = await runGraphQLBenchmarks({ duration, databaseUrl: process.env.BENCH_DATABASE_URL });
process.stdout.write(`${formatResults(graphql)}\n`);

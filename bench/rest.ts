// REST scenarios: each loads Hookgate and a bare node:http server answering the same JSON from
// memory, in the same run, and prints the ratio. `npm run bench` runs them with the others;
// `tsx bench/rest.ts` runs only these. Target: `GET /api/v4/hooks/:id` ≥ 40 % of the baseline on PostgreSQL.
import { ADMIN_TOKEN, compare, runScenarios, type Scenario, type Target } from './lib';

const SUBJECT_HOOKS = 1_000;
/**
 * Hook URLs: a literal loopback address (allowed: the target runs with HOOKGATE_ALLOW_LOCAL_REQUESTS),
 * so saving one resolves no name. This machine has no working DNS, and its resolver drops some
 * concurrent queries for a 5 s timeout, which would measure the resolver instead of Hookgate.
 */
const HOOK_BASE = 'http://127.0.0.1:9/bench';
const v1Headers = { authorization: `Token ${ADMIN_TOKEN}` };
const systemHeaders = { 'private-token': ADMIN_TOKEN };

async function send(target: Target, method: string, route: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${target.hookgate.url}${route}`, {
    method,
    headers: { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
  return { status: response.status, text };
}

export async function getSystemHook(target: Target): Promise<void> {
  const created = JSON.parse((await send(target, 'POST', '/api/v4/hooks', systemHeaders, { url: HOOK_BASE, name: 'bench', push_events: true })).text) as {
    id: number;
  };
  const route = `/api/v4/hooks/${created.id}`;
  const body = (await send(target, 'GET', route, systemHeaders)).text;
  await compare(`[${target.name}] GET /api/v4/hooks/:id`, target.hookgate.url, { path: route, headers: systemHeaders }, body);
}

export async function listSubjectHooks(target: Target): Promise<void> {
  // 1,000 stored hooks over 100 subjects; the query matches the 10 of one subject.
  const create = (i: number) =>
    send(target, 'POST', '/v1/hooks', v1Headers, {
      subject_type: 'build_repo',
      subject: `bench/repo${i % 100}`,
      events: ['build:complete'],
      url: `${HOOK_BASE}/${i}`,
      name: `hook ${i}`,
    });
  for (let i = 0; i < SUBJECT_HOOKS; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => create(i + j)));
  const route = '/v1/hooks?subject_type=build_repo&subject=bench%2Frepo7';
  const body = (await send(target, 'GET', route, v1Headers)).text;
  await compare(`[${target.name}] GET /v1/hooks?subject_type&subject (1k hooks)`, target.hookgate.url, { path: route, headers: v1Headers }, body);
}

export async function createSubjectHook(target: Target): Promise<void> {
  const input = { subject_type: 'image_repo', subject: 'bench/images', events: ['image:push'], url: `${HOOK_BASE}/create`, secret: 's3cret' };
  const body = (await send(target, 'POST', '/v1/hooks', v1Headers, input)).text;
  await compare(
    `[${target.name}] POST /v1/hooks`,
    target.hookgate.url,
    { method: 'POST', path: '/v1/hooks', headers: v1Headers, body: JSON.stringify(input) },
    body,
  );
}

export const restScenarios: Scenario[] = [getSystemHook, listSubjectHooks, createSubjectHook];

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('Note: figures depend on what else runs on this machine (other processes share its CPUs).');
  await runScenarios(restScenarios);
}

// GraphQL scenarios: a `hook(id)` lookup and the 100-hooks page (creator, url variables, last 5
// deliveries with attempts), against Hookgate in its own process like the REST scenarios, each
// next to a bare node:http server answering the same bytes from memory in the same run.
// `tsx bench/graphql.ts` runs only these; `npm run bench` runs them with the others.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { ADMIN_TOKEN, compare, runScenarios, type Scenario, type Target } from './lib';

const SUBJECT = 'bench/graphql';
const HOOKS = 100;
/** Events published to every hook: each hook then has more deliveries than the page's 5. */
const EVENTS = 8;
const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };

export const HOOK_BY_ID = 'query($id: ID!) { hook(id: $id) { id databaseId url name events isActive hasSecret createdAt } }';
export const HOOKS_PAGE = `query($subject: String!) {
  hooks(first: 100, filter: { subject: $subject }) {
    totalCount
    nodes {
      id databaseId url events hasSecret
      createdBy { username }
      urlVariables { key }
      deliveries(first: 5) { nodes { databaseId event status attemptCount attempts { startedAt durationMs responseStatus } } }
    }
  }
}`;

async function graphql(target: Target, query: string, variables: Record<string, unknown> = {}): Promise<string> {
  const response = await fetch(`${target.hookgate.url}/graphql`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  if (!response.ok || text.includes('"errors"') || /"userErrors":\[\{/.test(text)) throw new Error(`GraphQL failed: ${text.slice(0, 300)}`);
  return text;
}

/** 100 hooks with a url variable, each with 8 delivered events: made through the API itself. */
export async function seed(target: Target): Promise<number> {
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/{token}`;
  try {
    const ids: number[] = [];
    for (let i = 0; i < HOOKS; i++) {
      const created = JSON.parse(await graphql(target, `mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id databaseId } userErrors { message } } }`, {
        input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: SUBJECT, events: ['build:complete'], url, secret: 'secret', name: `hook ${i}` },
      })) as { data: { createHook: { hook: { id: string; databaseId: number } } } };
      const hook = created.data.createHook.hook;
      ids.push(hook.databaseId);
      await graphql(target, `mutation($input: SetUrlVariableInput!) { setUrlVariable(input: $input) { userErrors { message } } }`, {
        input: { hookId: hook.id, key: 'token', value: `t${i}` },
      });
    }
    for (let i = 0; i < EVENTS; i++) {
      await graphql(target, `mutation($input: PublishEventInput!) { publishEvent(input: $input) { userErrors { message } } }`, {
        input: { event: 'build:complete', subjectType: 'BUILD_REPO', subject: SUBJECT, payload: { build: i } },
      });
    }
    const deadline = Date.now() + 60_000;
    while (received < HOOKS * EVENTS) {
      if (Date.now() > deadline) throw new Error(`only ${received} of ${HOOKS * EVENTS} seeded deliveries arrived`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The last attempts are recorded just after their answers: give the recorder a moment.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return ids[0]!;
  } finally {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}

export async function graphqlHookAndPage(target: Target): Promise<void> {
  const firstHook = await seed(target);
  const operations = [
    { label: 'GraphQL hook(id)', query: HOOK_BY_ID, variables: { id: encodeGlobalID('Hook', firstHook) } },
    { label: 'GraphQL hooks(first: 100) + 5 deliveries', query: HOOKS_PAGE, variables: { subject: SUBJECT } },
  ];
  for (const { label, query, variables } of operations) {
    const body = JSON.stringify({ query, variables });
    // The baseline answers with the very bytes Hookgate produced for this operation.
    const answer = await graphql(target, query, variables);
    await compare(`[${target.name}] ${label}`, target.hookgate.url, { method: 'POST', path: '/graphql', headers, body }, answer);
  }
}

export const graphqlScenarios: Scenario[] = [graphqlHookAndPage];

if (import.meta.url === `file://${process.argv[1]}`) {
  await runScenarios(graphqlScenarios);
}

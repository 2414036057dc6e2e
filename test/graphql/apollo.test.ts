// Apollo Client 4 as a front-end sets it up: HttpLink for queries and mutations, GraphQLWsLink
// (graphql-ws) for subscriptions, chosen by `split`; normalised cache by `id`.
import { ApolloClient, gql, HttpLink, InMemoryCache, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { OperationTypeNode } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { backends, createUser, startTestApp, type TestApp } from '../helpers';
import { liveSubscription, webSocketUrl } from './transports';

const HOOKS = gql`
  query Hooks { hooks(first: 10) { nodes { id name url } } }
`;
const RENAME = gql`
  mutation Rename($input: UpdateHookInput!) { updateHook(input: $input) { hook { id name } userErrors { field code } } }
`;
const UPDATES = gql`
  subscription Updates($hookId: ID) { deliveryUpdated(hookId: $hookId) { id databaseId status hook { id } } }
`;

interface HooksData {
  hooks: { nodes: { id: string; name: string | null; url: string }[] };
}
interface UpdatesData {
  deliveryUpdated: { id: string; databaseId: number; status: string; hook: { id: string } };
}

describe.each(backends)('Apollo Client on %s', (backend) => {
  let t: TestApp;
  let receiver: Receiver;
  let apollo: ApolloClient;
  let ws: Client;
  let aliceHookId: number;

  beforeAll(async () => {
    t = await startTestApp(backend);
    receiver = await startReceiver();
    const alice = await createUser(t.app, 'alice');
    const hook = await t.app.db.prisma.hook.create({
      data: {
        kind: 'SUBJECT',
        url: `${receiver.url}/a`,
        name: 'first',
        subjectType: 'BUILD_REPO',
        subject: 'alice/app',
        namespace: 'alice',
        events: ['build:complete'],
      },
    });
    aliceHookId = hook.id;
    const authorization = `Bearer ${alice.token}`;
    ws = createClient({ url: webSocketUrl(t.url), webSocketImpl: WebSocket, connectionParams: { Authorization: authorization }, retryAttempts: 0 });
    const link = split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === OperationTypeNode.SUBSCRIPTION;
      },
      new GraphQLWsLink(ws),
      new HttpLink({ uri: `${t.url}/graphql`, headers: { authorization } }),
    );
    apollo = new ApolloClient({ link, cache: new InMemoryCache() });
  });
  afterAll(async () => {
    apollo?.stop();
    await ws?.dispose();
    await t?.close();
    await receiver?.close();
  });

  it('queries, and a mutation updates the cached hook by id', async () => {
    const { data } = await apollo.query<HooksData>({ query: HOOKS });
    const id = encodeGlobalID('Hook', aliceHookId);
    expect(data!.hooks.nodes).toEqual([{ __typename: 'Hook', id, name: 'first', url: `${receiver.url}/a` }]);

    const renamed = await apollo.mutate<{ updateHook: { userErrors: unknown[] } }>({ mutation: RENAME, variables: { input: { id, name: 'renamed' } } });
    expect(renamed.error).toBeUndefined();
    expect(renamed.data!.updateHook.userErrors).toEqual([]);
    // The query was not run again: the normalised Hook entry changed under it.
    const cached = apollo.readQuery<HooksData>({ query: HOOKS });
    expect(cached!.hooks.nodes[0]).toMatchObject({ id, name: 'renamed' });
    const entries = apollo.cache.extract() as Record<string, unknown>;
    expect(entries[apollo.cache.identify({ __typename: 'Hook', id })!]).toMatchObject({ name: 'renamed' });
  });

  it('subscribes over the WebSocket link', async () => {
    const hookId = encodeGlobalID('Hook', aliceHookId);
    const live = liveSubscription<UpdatesData>((sink) => {
      const subscription = apollo.subscribe<UpdatesData>({ query: UPDATES, variables: { hookId } }).subscribe({
        next: (result) => (result.error ? sink.error(result.error) : sink.next({ data: result.data ?? undefined })),
        error: (error: unknown) => sink.error(error),
        complete: () => sink.complete(),
      });
      return () => subscription.unsubscribe();
    });
    const tested = new Set<number>();
    const trigger = setInterval(() => {
      void t.app.services.deliveries.testHook(t.admin, aliceHookId).then(
        (d) => tested.add(d.id),
        () => {},
      );
    }, 500);
    try {
      const seen = await live.waitFor(
        (r) => r.data?.deliveryUpdated.status === 'SUCCEEDED' && tested.has(r.data.deliveryUpdated.databaseId),
        'a SUCCEEDED update through Apollo',
      );
      expect(seen.data!.deliveryUpdated.hook.id).toBe(hookId);
    } finally {
      clearInterval(trigger);
      live.stop();
    }
  });
});

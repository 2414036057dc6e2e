// One hook, two faces: GraphQL's databaseId is the REST id, whichever side created the hook.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, graphql, startTestApp, type TestApp } from '../helpers';

describe.each(backends)('GraphQL and REST ids on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => {
    await t.close();
  });

  it('a hook created through GraphQL is found by REST under its databaseId', async () => {
    const created = await graphql(t.url, `mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id databaseId } userErrors { message } } }`, {
      input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'root/app', events: ['build:complete'], url: 'https://example.com/from-graphql' },
    });
    const { id, databaseId } = created.data!.createHook.hook;
    expect(id).toBe(encodeGlobalID('Hook', databaseId));
    const rest = await fetch(`${t.url}/v1/hooks/${databaseId}`, { headers: { authorization: `Token ${t.adminToken}` } });
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ id: databaseId, url: 'https://example.com/from-graphql', created_by: 'root' });
  });

  it('a system hook created through REST is found by GraphQL under the same id', async () => {
    const rest = await fetch(`${t.url}/api/v4/hooks`, {
      method: 'POST',
      headers: { 'private-token': t.adminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.com/from-rest', push_events: true }),
    });
    expect(rest.status).toBe(201);
    const { id } = (await rest.json()) as { id: number };
    const res = await graphql(t.url, 'query($id: ID!) { hook(id: $id) { databaseId kind url events } }', { id: encodeGlobalID('Hook', id) });
    expect(res.data!.hook).toEqual({ databaseId: id, kind: 'SYSTEM', url: 'https://example.com/from-rest', events: ['push', 'repository_update'] });
  });
});

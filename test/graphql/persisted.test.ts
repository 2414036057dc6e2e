// Persisted operations: the manifest is in sync with the clients' .graphql files, `documentId`
// runs its documents over POST and GET, and persisted-only mode refuses other documents to
// everyone but administrators. Real Hookgate on each backend, real HTTP.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifest, DOCUMENT_SOURCES, documentId, MANIFEST_FILE, REPO_ROOT, readManifest, serializeManifest } from '../../src/graphql/persisted-manifest';
import { persistedDocument } from '../../src/graphql/persisted-operations';
import { schema } from '../../src/graphql/schema';
import { ADMIN_TOKEN, backends, createUser, graphql, startTestApp, type TestApp } from '../helpers';

const manifest = readManifest();
const byName = (name: string): string => {
  const id = Object.keys(manifest).find((key) => new RegExp(`^(query|mutation|subscription) ${name}\\b`, 'm').test(manifest[key]!));
  if (!id) throw new Error(`no manifest document defines ${name}`);
  return id;
};

async function post(url: string, body: object, token: string | null = ADMIN_TOKEN) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: Record<string, any>; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

describe('persisted-operations.json', () => {
  it("is the build of the clients' .graphql files (run `npm run operations` after changing one)", async () => {
    expect(await readFile(MANIFEST_FILE, 'utf8')).toBe(serializeManifest(buildManifest()));
  });

  it('stops matching as soon as a .graphql file changes', async () => {
    // The same comparison on a copy of the sources with one document edited: it must see the edit.
    const copy = await mkdtemp(path.join(tmpdir(), 'hookgate-operations-'));
    try {
      for (const source of DOCUMENT_SOURCES) await cp(path.join(REPO_ROOT, source), path.join(copy, source), { recursive: true });
      expect(serializeManifest(buildManifest(copy))).toBe(serializeManifest(buildManifest()));
      const viewer = path.join(copy, 'src/console/operations/Viewer.graphql');
      await writeFile(viewer, (await readFile(viewer, 'utf8')).replace('isAdmin', 'isAdmin databaseId'));
      expect(serializeManifest(buildManifest(copy))).not.toBe(await readFile(MANIFEST_FILE, 'utf8'));
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it("holds the console's operations and GraphiQL's examples, each keyed by the sha256 of its text, all valid", () => {
    expect(Object.keys(manifest).length).toBeGreaterThanOrEqual(DOCUMENT_SOURCES.length);
    for (const [id, text] of Object.entries(manifest)) {
      expect(id).toBe(documentId(text));
      expect(validate(schema, parse(text)).map((error) => error.message)).toEqual([]);
    }
    for (const name of ['Viewer', 'Hooks', 'CreateHook', 'DeliveryUpdated', 'DeliveryUpdates']) byName(name);
  });
});

describe("persistedDocument (the rules for transports outside Yoga's HTTP pipeline)", () => {
  const code = (run: () => unknown): unknown => {
    try {
      run();
      return 'ran';
    } catch (error) {
      return (error as { extensions?: { code?: string } }).extensions?.code;
    }
  };
  it('answers a manifest document by id, refuses unknown ids, and raw documents to non-admins in persisted-only mode', () => {
    const strict = { manifest, persistedOnly: true };
    const id = byName('Viewer');
    expect(persistedDocument(strict, { documentId: id }, false)).toBe(manifest[id]);
    expect(persistedDocument(strict, { extensions: { persistedQuery: { version: 1, sha256Hash: id } } }, false)).toBe(manifest[id]);
    expect(code(() => persistedDocument(strict, { documentId: documentId('{ viewer { username } }') }, false))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(code(() => persistedDocument(strict, { query: '{ viewer { username } }' }, false))).toBe('PERSISTED_QUERY_ONLY');
    expect(persistedDocument(strict, { query: '{ viewer { username } }' }, true)).toBe('{ viewer { username } }');
    expect(persistedDocument({ manifest, persistedOnly: false }, { query: '{ viewer { username } }' }, false)).toBe('{ viewer { username } }');
    expect(code(() => persistedDocument(strict, {}, true))).toBe('BAD_REQUEST');
  });
});

describe.each(backends)('persisted operations on %s', (backend) => {
  describe('by default', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t?.close());

    it('runs a manifest document sent as {"documentId"} over POST', async () => {
      const { status, body } = await post(t.url, { documentId: byName('Viewer'), operationName: 'Viewer' });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data!.viewer).toMatchObject({ username: 'root', isAdmin: true });
    });

    it('runs one over GET with variables, and a mutation by id over POST', async () => {
      const created = await post(t.url, {
        documentId: byName('CreateHook'),
        variables: { input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'root/app', events: ['build:complete'], url: 'https://example.com/hook' } },
      });
      expect(created.body.errors).toBeUndefined();
      expect(created.body.data!.createHook.userErrors).toEqual([]);

      const params = new URLSearchParams({ documentId: byName('Hooks'), operationName: 'Hooks', variables: JSON.stringify({ first: 5 }) });
      const response = await fetch(`${t.url}/graphql?${params}`, { headers: { accept: 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: { hooks: { totalCount: number; nodes: { subject: string }[] } } };
      expect(body.data.hooks.totalCount).toBe(1);
      expect(body.data.hooks.nodes[0]!.subject).toBe('root/app');
    });

    it('refuses a mutation by id over GET', async () => {
      const params = new URLSearchParams({
        documentId: byName('CreateHook'),
        variables: JSON.stringify({ input: { kind: 'SUBJECT', url: 'https://example.com' } }),
      });
      const response = await fetch(`${t.url}/graphql?${params}`, { headers: { accept: 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(response.status).toBe(405);
    });

    it('answers an unknown id with 400 PERSISTED_QUERY_NOT_FOUND', async () => {
      const { status, body } = await post(t.url, { documentId: documentId('query Nope { viewer { username } }') });
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    });

    it('still runs raw documents for anyone, and answers a body with neither query nor id with 400', async () => {
      const { token } = await createUser(t.app, 'alice');
      const raw = await graphql(t.url, '{ viewer { username } }', {}, token);
      expect(raw.status).toBe(200);
      expect(raw.data).toEqual({ viewer: { username: 'alice' } });
      const empty = await post(t.url, { variables: {} });
      expect(empty.status).toBe(400);
      expect(empty.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    });
  });

  describe('with HOOKGATE_GRAPHQL_PERSISTED_ONLY=true', () => {
    let t: TestApp;
    let userToken: string;
    beforeAll(async () => {
      t = await startTestApp(backend, { HOOKGATE_GRAPHQL_PERSISTED_ONLY: 'true' });
      userToken = (await createUser(t.app, 'bob')).token;
    });
    afterAll(() => t?.close());

    it('refuses a raw document to a non-admin and to no token with 400 PERSISTED_QUERY_ONLY', async () => {
      for (const token of [userToken, null]) {
        const refused = await graphql(t.url, '{ viewer { username } }', {}, token);
        expect(refused.status).toBe(400);
        expect(refused.data).toBeUndefined();
        expect(refused.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
      }
      // Even a document of the manifest, sent as text, is a raw document.
      const asText = await graphql(t.url, manifest[byName('Viewer')]!, {}, userToken);
      expect(asText.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
    });

    it("runs the manifest's documents by id for a non-admin", async () => {
      const { status, body } = await post(t.url, { documentId: byName('Viewer') }, userToken);
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data!.viewer).toMatchObject({ username: 'bob', isAdmin: false });
    });

    it('runs raw documents for an admin', async () => {
      const allowed = await graphql(t.url, '{ viewer { username } }', {}, ADMIN_TOKEN);
      expect(allowed.status).toBe(200);
      expect(allowed.data).toEqual({ viewer: { username: 'root' } });
    });
  });
});

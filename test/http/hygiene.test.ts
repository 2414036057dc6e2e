// HTTP hygiene over real sockets: clients that vanish mid-body are a debug line, not an error;
// request and header timeouts are Node's 408; CORS only for listed origins; GraphQL refuses the
// requests a browser sends cross-site without a preflight (form posts, bare GETs).
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createMetrics } from '../../src/http/metrics';
import { createHttpServer } from '../../src/http/server';
import { createLogger } from '../../src/logger';
import { ADMIN_TOKEN, backends, createTestDatabase, type TestDatabase } from '../helpers';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real Hookgate whose log lines (debug and up) are kept for the test to read. */
async function startLoggedApp(backend: 'pglite' | 'postgres', env: Record<string, string> = {}) {
  const testDb: TestDatabase = await createTestDatabase(backend);
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const config = loadConfig({ PORT: '0', DATABASE_URL: testDb.url, HOOKGATE_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'debug', ...env });
  const app: App = await createApp(config, pino({ level: 'debug' }, sink), { databaseTarget: testDb.target });
  const url = await app.listen();
  return {
    app,
    url,
    lines,
    close: async () => {
      await app.close();
      await testDb.drop();
    },
  };
}

/** Sends the head of a request promising `length` body bytes, a little of the body, then resets the connection. */
async function abortMidBody(url: string, path: string, headers: Record<string, string>): Promise<void> {
  const { port } = new URL(url);
  await new Promise<void>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      const head = Object.entries({ host: 'x', 'content-length': '100000', ...headers })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n{"url": "https://exa`);
      setTimeout(() => {
        socket.resetAndDestroy();
        resolve();
      }, 200);
    });
    socket.on('error', reject);
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const CREATE = 'mutation { createHook(input: {kind: SYSTEM, url: "https://example.com/csrf"}) { hook { id } } }';

describe.each(backends)('HTTP hygiene on %s', (backend) => {
  let t: Awaited<ReturnType<typeof startLoggedApp>>;
  beforeAll(async () => {
    t = await startLoggedApp(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('logs a client that disconnects mid-body at debug level, never as an error', async () => {
    const requests: Array<[string, Record<string, string>]> = [
      ['/v1/hooks', { authorization: `Token ${ADMIN_TOKEN}`, 'content-type': 'application/json' }],
      ['/api/v4/hooks', { 'private-token': ADMIN_TOKEN, 'content-type': 'application/json' }],
      ['/graphql', { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }],
    ];
    for (const [path, headers] of requests) await abortMidBody(t.url, path, headers);
    // The REST routes log one debug line each; GraphQL (Yoga) drops the request quietly.
    await until('two "request aborted" debug lines', () => t.lines.filter((line) => line.msg === 'request aborted by the client').length >= 2);
    // Let anything else the aborts cause reach the log.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      t.lines.filter((line) => line.level >= 40),
      JSON.stringify(t.lines.filter((line) => line.level >= 40)),
    ).toEqual([]);
    expect(t.lines.filter((line) => line.msg === 'request aborted by the client').every((line) => line.level === 20)).toBe(true);
    // The server still answers.
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect(await t.app.db.prisma.hook.count()).toBe(0);
  });

  it('sends no CORS headers by default, to any origin', async () => {
    const origin = 'https://evil.example';
    const answers = [
      await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { origin, authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: '{"query":"{ viewer { username } }"}',
      }),
      await fetch(`${t.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      }),
      await fetch(`${t.url}/v1/hooks`, { headers: { origin, authorization: `Token ${ADMIN_TOKEN}` } }),
      await fetch(`${t.url}/v1/hooks`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } }),
    ];
    for (const answer of answers) {
      expect([...answer.headers.keys()].filter((key) => key.startsWith('access-control-'))).toEqual([]);
    }
    expect(answers[0]!.status).toBe(200);
  });

  describe('GraphQL CSRF prevention', () => {
    it('refuses form-encoded and text/plain POSTs, even with a mutation a token would allow', async () => {
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', new URLSearchParams({ query: CREATE }).toString()],
        ['text/plain', JSON.stringify({ query: CREATE })],
        ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${CREATE}\r\n--x--\r\n`],
      ]) {
        // Browsers add cookies, never Authorization, to such a cross-site request.
        const answer = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': type! }, body: body! });
        expect(answer.status, `${type}: ${await answer.clone().text()}`).toBe(403);
        expect(((await answer.json()) as { errors: Array<{ message: string; extensions: { code: string } }> }).errors[0]).toEqual({
          message: 'Required CSRF header(s) not present',
          extensions: { code: 'FORBIDDEN' },
        });
      }
      expect(await t.app.db.prisma.hook.count()).toBe(0);
    });

    it('refuses a GET with no header a simple request cannot carry, and serves one with Authorization', async () => {
      const query = new URLSearchParams({ query: '{ __typename }' });
      const bare = await fetch(`${t.url}/graphql?${query}`);
      expect(bare.status).toBe(403);
      await bare.text();
      const withToken = await fetch(`${t.url}/graphql?${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(withToken.status).toBe(200);
      expect(await withToken.json()).toEqual({ data: { __typename: 'Query' } });
      const withHeader = await fetch(`${t.url}/graphql?${query}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
      expect(withHeader.status).toBe(200);
      await withHeader.text();
      // GraphiQL still loads in a browser (a plain GET of the page).
      const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('GraphiQL');
    });

    it('runs JSON POSTs as before', async () => {
      const answer = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      expect(answer.status).toBe(200);
    });
  });
});

describe.each(backends)('CORS for listed origins on %s', (backend) => {
  const listed = 'https://console.example.com';
  let t: Awaited<ReturnType<typeof startLoggedApp>>;
  beforeAll(async () => {
    t = await startLoggedApp(backend, { HOOKGATE_CORS_ORIGINS: `${listed}, http://localhost:5173` });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers preflights and adds headers, credentials included, for a listed origin only', async () => {
    for (const path of ['/graphql', '/v1/hooks', '/api/v4/hooks']) {
      const preflight = await fetch(`${t.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: listed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin'), path).toBe(listed);
      expect(preflight.headers.get('access-control-allow-credentials'), path).toBe('true');
      expect(preflight.headers.get('access-control-allow-headers'), path).toContain('authorization');
      expect(preflight.headers.get('access-control-allow-methods'), path).toContain('POST');

      const other = await fetch(`${t.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      expect(
        [...other.headers.keys()].filter((key) => key.startsWith('access-control-')),
        path,
      ).toEqual([]);
    }
    const graphql = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { origin: listed, authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"query":"{ viewer { username } }"}',
    });
    expect(graphql.headers.get('access-control-allow-origin')).toBe(listed);
    expect(graphql.headers.get('access-control-allow-credentials')).toBe('true');
    const rest = await fetch(`${t.url}/api/v4/hooks`, { headers: { origin: listed, 'private-token': ADMIN_TOKEN } });
    expect(rest.status).toBe(200);
    expect(rest.headers.get('access-control-allow-origin')).toBe(listed);
    expect(rest.headers.get('access-control-expose-headers')).toContain('x-total');
    const foreign = await fetch(`${t.url}/api/v4/hooks`, { headers: { origin: 'https://evil.example', 'private-token': ADMIN_TOKEN } });
    expect([...foreign.headers.keys()].filter((key) => key.startsWith('access-control-'))).toEqual([]);
  });

  it('refuses malformed origin settings at start-up', () => {
    for (const value of ['*', 'https://a.example/', 'a.example', 'https://a.example/path']) {
      expect(() => loadConfig({ HOOKGATE_CORS_ORIGINS: value }), value).toThrow(/HOOKGATE_CORS_ORIGINS/);
    }
  });
});

describe('Node timeouts', () => {
  it('answers a request whose headers never finish with 408, as Node does', { timeout: 20_000 }, async () => {
    const server = createHttpServer({
      logger: createLogger('silent'),
      metrics: createMetrics(),
      checkHealth: async () => {},
      handlers: [],
      timeouts: { requestMs: 1_000, headersMs: 500, checkIntervalMs: 100 },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const status = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
        socket.on('error', reject);
        setTimeout(() => reject(new Error('no answer within 10 s to a request with unfinished headers')), 10_000);
      });
      expect(status).toBe('HTTP/1.1 408 Request Timeout');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

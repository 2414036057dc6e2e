// The SSRF guard: unit checks of every spelling, then a real Hookgate with the guard on, where a
// forbidden target is refused when saved and again when sent, and never reaches the receiver.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyAddress, LOCAL_NETWORK_REFUSED, LOCALHOST_REFUSED, SsrfGuard } from '../../src/delivery/ssrf';
import { ValidationError } from '../../src/domain/errors';
import { backends, startTestApp, type TestApp } from '../helpers';
import { eventually, type Receiver, startReceiver } from './receiver';

/** The metadata addresses ipaddr.js alone lets through, in the spellings an attacker would use. */
const METADATA_URLS = [
  'http://169.254.170.2/v2/credentials',
  'http://169.254.169.253/',
  'http://100.100.100.200/latest/meta-data',
  'http://192.0.0.192/',
  'http://[fd00:ec2::23]/',
  'http://[64:ff9b::a9fe:a9fe]/',
  'http://[64:ff9b:1::a9fe:a9fe]/',
  'http://[::a9fe:a9fe]/',
  'http://[2002:a9fe:a9fe::]/',
  'http://metadata.goog/',
  'http://METADATA.GOOG./computeMetadata/v1/',
];

const strict = new SsrfGuard({ allowLocalRequests: false, allowlist: [] });
const relaxed = new SsrfGuard({ allowLocalRequests: true, allowlist: [] });

describe('SSRF guard', () => {
  it('classifies addresses with ipaddr.js ranges', () => {
    expect(classifyAddress('127.0.0.1')).toBe('loopback');
    expect(classifyAddress('::1')).toBe('loopback');
    expect(classifyAddress('0.0.0.0')).toBe('loopback');
    expect(classifyAddress('::')).toBe('loopback');
    expect(classifyAddress('::ffff:127.0.0.1')).toBe('loopback');
    for (const address of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '224.0.0.1', 'fc00::1', 'fd12::1', 'fe80::1', '::ffff:8.8.8.8', 'ff02::1']) {
      expect(classifyAddress(address), address).toBe('local');
    }
    expect(classifyAddress('169.254.169.254')).toBe('metadata');
    expect(classifyAddress('fd00:ec2::254')).toBe('metadata');
    expect(classifyAddress('::ffff:169.254.169.254')).toBe('metadata');
    expect(classifyAddress('8.8.8.8')).toBe('public');
    expect(classifyAddress('2606:4700::1111')).toBe('public');
  });

  it('judges IPv6 forms that carry an IPv4 address by the address they carry', () => {
    const cases: [string, string][] = [
      ['::127.0.0.1', 'loopback'],
      ['::7f00:1', 'loopback'],
      ['::a9fe:a9fe', 'metadata'],
      ['::10.0.0.1', 'local'],
      ['::8.8.8.8', 'local'],
      ['64:ff9b::a9fe:a9fe', 'metadata'],
      ['64:ff9b::127.0.0.1', 'loopback'],
      ['64:ff9b:1::a9fe:a9fe', 'metadata'],
      ['64:ff9b::808:808', 'local'],
      ['2002:7f00:1::', 'loopback'],
      ['2002:a9fe:a9fe::1', 'metadata'],
      ['2002:0a00:0001::', 'local'],
      // Teredo: server 127.0.0.1 in bits 32-63; client 169.254.169.254 obfuscated (xor 0xffff) in the last 32.
      ['2001:0:7f00:1::', 'loopback'],
      ['2001:0:808:808::5601:5601', 'metadata'],
    ];
    for (const [address, verdict] of cases) expect(classifyAddress(address), address).toBe(verdict);
  });

  it('treats every cloud metadata address as metadata', () => {
    for (const address of [
      '169.254.169.254',
      '169.254.170.2',
      '169.254.169.253',
      '169.254.0.1',
      '169.254.255.255',
      '100.100.100.200',
      '192.0.0.192',
      'fd00:ec2::254',
      'fd00:ec2::23',
      'fd00:ec2::ffff:ffff:ffff:ffff',
      '::ffff:100.100.100.200',
    ]) {
      expect(classifyAddress(address), address).toBe('metadata');
    }
    expect(classifyAddress('100.100.100.201')).toBe('local'); // CGNAT, not metadata
    expect(classifyAddress('fd00:ec3::1')).toBe('local');
  });

  it('refuses loopback in every spelling, and local networks, when local requests are not allowed', async () => {
    for (const url of [
      'http://127.0.0.1/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://0177.0.0.1/',
      'http://0x7f000001/',
      'http://127.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::127.0.0.1]/',
      'http://[64:ff9b::7f00:1]/',
      'http://[2002:7f00:1::]/',
      'http://0.0.0.0/',
      'http://[::]/',
      'http://localhost/',
      'http://LOCALHOST./',
      'http://a.localhost/',
    ]) {
      expect(await strict.check(url), url).toBe(LOCALHOST_REFUSED);
      expect(strict.preflight(url) ?? (await strict.check(url)), url).toBe(LOCALHOST_REFUSED);
    }
    for (const url of [
      'http://10.0.0.1/',
      'http://192.168.0.1:8080/x',
      'http://172.31.255.255/',
      'http://169.254.0.1/',
      'http://100.100.0.1/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://224.0.0.1/',
      'http://[::ffff:10.0.0.1]/',
      'http://012.0.0.1/',
      'http://0xa000001/',
    ]) {
      expect(await strict.check(url), url).toBe(LOCAL_NETWORK_REFUSED);
    }
    expect(await strict.check('https://8.8.8.8/hook')).toBeNull();
    // A name that does not resolve cannot be judged now; every send checks it again.
    expect(await strict.check('https://does-not-exist.invalid/hook')).toBeNull();
  });

  it('always refuses cloud metadata endpoints, even with local requests allowed', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://[fd00:ec2::254]/',
      'http://metadata.google.internal/',
      'http://METADATA.google.internal./x',
      'http://[::ffff:169.254.169.254]/',
      'http://2852039166/',
      ...METADATA_URLS,
    ]) {
      expect(await relaxed.check(url), url).toBe(LOCAL_NETWORK_REFUSED);
      expect(relaxed.preflight(url), url).toBe(LOCAL_NETWORK_REFUSED);
    }
    // A name that resolves to one of them is refused after the lookup.
    const resolvingToMetadata = new SsrfGuard({ allowLocalRequests: true, allowlist: [], resolve: async () => [{ address: '169.254.170.2', family: 4 }] });
    expect(await resolvingToMetadata.check('http://credentials.example/')).toBe(LOCAL_NETWORK_REFUSED);
    expect(await relaxed.check('http://127.0.0.1:8080/')).toBeNull();
    expect(await relaxed.check('http://10.0.0.1/')).toBeNull();
  });

  it('lets allow-listed hosts and ranges through', async () => {
    const guard = new SsrfGuard({ allowLocalRequests: false, allowlist: ['10.0.0.0/8', 'localhost', '192.168.1.5'] });
    expect(await guard.check('http://10.20.30.40/')).toBeNull();
    expect(await guard.check('http://localhost:3000/')).toBeNull();
    expect(await guard.check('http://192.168.1.5/')).toBeNull();
    expect(await guard.check('http://192.168.1.6/')).toBe(LOCAL_NETWORK_REFUSED);
    expect(await guard.check('http://127.0.0.1/')).toBe(LOCALHOST_REFUSED);
    const metadata = new SsrfGuard({ allowLocalRequests: false, allowlist: ['169.254.0.0/16'] });
    expect(await metadata.check('http://169.254.169.254/')).toBe(LOCAL_NETWORK_REFUSED);
  });

  it('does not let a save hang on a resolver that never answers, and still judges what it does answer', async () => {
    // A resolver that drops the query (as some do under load, retrying after 5 s).
    const silent = new SsrfGuard({ allowLocalRequests: false, allowlist: [], resolve: () => new Promise(() => {}), saveCheckDnsTimeoutMs: 50 });
    expect(await silent.check('https://hooks.example.org/x')).toBeNull();
    // The same resolution path, answering: a name that points inside is refused at save time.
    const answering = new SsrfGuard({ allowLocalRequests: false, allowlist: [], resolve: async () => [{ address: '10.1.2.3', family: 4 }] });
    expect(await answering.check('https://hooks.example.org/x')).toBe(LOCAL_NETWORK_REFUSED);
  });

  it('refuses other schemes at send time', () => {
    expect(strict.preflight('ftp://8.8.8.8/')).toMatch(/schemes/);
    expect(strict.preflight('file:///etc/passwd')).toMatch(/schemes/);
  });
});

describe.each(backends)('SSRF guard in a running Hookgate (%s)', (backend) => {
  let t: TestApp;
  let r: Receiver;
  beforeAll(async () => {
    t = await startTestApp(backend, { HOOKGATE_ALLOW_LOCAL_REQUESTS: 'false' });
    r = await startReceiver();
  });
  afterAll(async () => {
    await t?.close();
    await r?.close();
  });

  it('refuses forbidden URLs when a hook is saved, with the GitLab messages', async () => {
    const create = (url: string) => t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url });
    await expect(create(`http://localhost:${r.port}/`)).rejects.toMatchObject({ field: 'url', issues: [{ field: 'url', message: LOCALHOST_REFUSED }] });
    await expect(create(`http://2130706433:${r.port}/`)).rejects.toMatchObject({ issues: [{ message: LOCALHOST_REFUSED }] });
    await expect(create('http://192.168.0.10/')).rejects.toMatchObject({ issues: [{ message: LOCAL_NETWORK_REFUSED }] });
    await expect(create('http://169.254.169.254/')).rejects.toThrow(ValidationError);
    const hook = await create('https://8.8.8.8/hook');
    await expect(t.app.services.hooks.update(t.admin, hook.id, { url: `http://0x7f.1:${r.port}/` })).rejects.toMatchObject({
      issues: [{ message: LOCALHOST_REFUSED }],
    });
    await t.app.services.hooks.delete(t.admin, hook.id);
    // A zone id is named as the problem, not the scheme.
    await expect(create('http://[fe80::1%25eth0]/')).rejects.toMatchObject({ issues: [{ field: 'url', message: expect.stringMatching(/zone identifiers/) }] });
  });

  it('refuses them again at send time: a stored forbidden hook never reaches the receiver', async () => {
    const spellings = [
      `http://127.0.0.1:${r.port}/a`,
      `http://2130706433:${r.port}/b`,
      `http://0x7f.1:${r.port}/c`,
      `http://0177.0.0.1:${r.port}/d`,
      `http://localhost:${r.port}/e`,
      `http://[::ffff:127.0.0.1]:${r.port}/f`,
      `http://{host}:${r.port}/g`,
      `http://[::127.0.0.1]:${r.port}/h`,
      `http://[64:ff9b::7f00:1]:${r.port}/i`,
      `http://[2002:7f00:1::]:${r.port}/j`,
      `http://[2001:0:7f00:1::]:${r.port}/k`,
    ];
    // Written straight to the table, as if saved before the guard existed.
    const hooks: { id: number }[] = [];
    for (const url of spellings) hooks.push(await t.app.db.prisma.hook.create({ data: { kind: 'SYSTEM', url, events: [] } }));
    await t.app.db.prisma.urlVariable.create({ data: { hookId: hooks[6]!.id, key: 'host', value: '127.0.0.1' } });
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, { event: 'project_create', payload: {} });
    expect(deliveries).toHaveLength(spellings.length);
    for (const delivery of deliveries) {
      const done = await eventually(async () => {
        const d = await t.app.services.deliveries.getDelivery(t.admin, delivery.id);
        return d.status === 'FAILED' ? d : null;
      });
      expect(done.attempts).toHaveLength(1); // refused destinations are not retried
      expect(done.attempts[0]!.error).toBe(LOCALHOST_REFUSED);
    }
    expect(r.requests).toHaveLength(0);
  });
});

describe.each(backends)('metadata addresses with local requests allowed (%s)', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, { HOOKGATE_ALLOW_LOCAL_REQUESTS: 'true' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses each one when saved and when sent, without ever connecting', async () => {
    for (const url of METADATA_URLS) {
      await expect(t.app.services.hooks.create(t.admin, { kind: 'SYSTEM', url }), url).rejects.toMatchObject({
        issues: [{ field: 'url', message: LOCAL_NETWORK_REFUSED }],
      });
    }
    for (const url of METADATA_URLS) await t.app.db.prisma.hook.create({ data: { kind: 'SYSTEM', url, events: [] } });
    const { deliveries } = await t.app.services.deliveries.publish(t.admin, { event: 'project_create', payload: {} });
    expect(deliveries).toHaveLength(METADATA_URLS.length);
    for (const delivery of deliveries) {
      const done = await eventually(async () => {
        const d = await t.app.services.deliveries.getDelivery(t.admin, delivery.id);
        return d.status === 'FAILED' ? d : null;
      });
      // Refused by the guard (its message, one attempt), not a connection that failed.
      expect(done.attempts.map((attempt) => attempt.error)).toEqual([LOCAL_NETWORK_REFUSED]);
    }
  });
});

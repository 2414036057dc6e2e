// The Hookgate Console in real Chromium against a real Hookgate (PGlite) and a real receiver.
// Screenshots of each page go to a temporary directory printed at the end.
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/graphql/persisted-manifest';
import { chromiumMissing, launchChromium } from '../browser';
import { type Receiver, startReceiver } from '../delivery/receiver';
import { ADMIN_TOKEN, backends, graphql, startTestApp, type TestApp } from '../helpers';

const WAIT = { timeout: 20_000 };
const MINUTE = 60_000;

/** A web page on its own loopback port (another origin) that shows `embedded` in an iframe. */
async function startProductPage(): Promise<{ origin: string; embedded: { url: string }; close: () => Promise<void> }> {
  const embedded = { url: 'about:blank' };
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Product</title><iframe title="Webhooks" src="${embedded.url}" width="1000" height="700"></iframe>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    embedded,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(chromiumMissing).each(backends)('Hookgate Console on %s', (backend) => {
  let t: TestApp;
  let browser: Browser;
  let receiver: Receiver;
  let shots: string;
  let origin: string;
  /** What the receiver answers next: the test switches it. */
  let answer = { status: 200, body: '{"received":true}' };
  let admin: Page;
  /** A customer's product that may embed the console (HOOKGATE_CONSOLE_FRAME_ANCESTORS), and a site that may not. */
  let customer: Awaited<ReturnType<typeof startProductPage>>;
  let stranger: Awaited<ReturnType<typeof startProductPage>>;
  const foreign: string[] = [];
  /** Every GraphQL request the console made (POST bodies, GET query strings). */
  const graphqlRequests: Record<string, unknown>[] = [];
  /** Before anything of this run was created. */
  let startedAt = 0;

  async function newPage(viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport });
    // Anything not from Hookgate is refused and remembered: the console must work offline.
    await context.route('**/*', (route) => {
      const target = route.request().url();
      if (target.startsWith(`${origin}/graphql`)) {
        const body = route.request().postData();
        graphqlRequests.push(body ? (JSON.parse(body) as Record<string, unknown>) : Object.fromEntries(new URL(target).searchParams));
      }
      if (target.startsWith(origin) || target.startsWith('data:')) return route.continue();
      foreign.push(target);
      return route.abort();
    });
    return { context, page: await context.newPage() };
  }
  /** A `datetime-local` value (the browser's time zone, to the minute) for an instant. */
  const localMinute = (page: Page, at: number) =>
    page.evaluate((ms) => {
      const d = new Date(ms);
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    }, at);
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    startedAt = Date.now();
    shots = await mkdtemp(path.join(tmpdir(), 'hookgate-console-'));
    receiver = await startReceiver(() => answer);
    customer = await startProductPage();
    stranger = await startProductPage();
    // Persisted-only: the console must work on document ids alone (the portal session is no admin).
    t = await startTestApp(backend, { HOOKGATE_GRAPHQL_PERSISTED_ONLY: 'true', HOOKGATE_CONSOLE_FRAME_ANCESTORS: `'self' ${customer.origin}` });
    origin = new URL(t.url).origin;
    browser = await launchChromium();
    admin = (await newPage()).page;
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await receiver?.close();
    await customer?.close();
    await stranger?.close();
    console.info(`console screenshots: ${shots}`);
  });

  it('serves the page with its frame-ancestors policy', async () => {
    const response = await fetch(`${t.url}/console`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(await response.text()).toContain('/console/assets/');
  });

  it('signs in: a bad token is refused in the form, a good one opens the hooks', async () => {
    await admin.goto(`${t.url}/console`);
    await shot(admin, 'sign-in');
    await admin.getByLabel('API token').fill('not-a-real-token-at-all');
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.getByRole('alert').filter({ hasText: 'That token was not accepted.' }).waitFor(WAIT);
    await admin.getByLabel('API token').fill(ADMIN_TOKEN);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.getByRole('heading', { name: 'Hooks' }).waitFor(WAIT);
    expect(await admin.evaluate(() => sessionStorage.getItem('hookgate.token'))).toBe(ADMIN_TOKEN);
  });

  it("creates a subject hook: the API's message for a bad URL sits next to the URL field, then it saves", async () => {
    const bad = { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'root/app', url: 'ftp://example.com/hook' };
    const expected = await graphql(t.url, 'mutation($input: CreateHookInput!) { createHook(input: $input) { userErrors { field message } } }', { input: bad });
    const apiMessage = expected.data!.createHook.userErrors.find((e: { field: string[] }) => e.field.at(-1) === 'url').message as string;

    await admin.getByRole('link', { name: 'New hook' }).click();
    await admin.getByLabel('Subject', { exact: true }).fill('root/app');
    await admin.getByLabel('URL', { exact: true }).fill(bad.url);
    await admin.getByRole('button', { name: 'Save' }).click();
    const urlError = admin.locator('#url-error');
    await urlError.waitFor(WAIT);
    expect(await urlError.innerText()).toBe(apiMessage);
    expect(await admin.getByLabel('URL', { exact: true }).getAttribute('aria-describedby')).toBe('url-error');
    await shot(admin, 'hook-form');

    await admin.getByLabel('URL', { exact: true }).fill(`${receiver.url}/hook`);
    await admin.getByLabel('Secret', { exact: true }).fill('s3cret-value');
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    expect(await admin.locator('.settings').first().innerText()).toContain(`${receiver.url}/hook`);
  });

  it('"Send test" shows the attempt: status 200 and the receiver\'s body', async () => {
    await admin.getByRole('button', { name: 'Send test' }).click();
    const result = admin.getByRole('region', { name: 'Test result' });
    // The receiver's body `{"received":true}`, pretty-printed.
    await result.getByText('"received": true').waitFor(WAIT);
    expect(await result.innerText()).toMatch(/Response status\s+200/);
    await shot(admin, 'hook');
  });

  it("a published event's delivery appears and reaches SUCCEEDED without a reload", async () => {
    const rows = admin.getByRole('table', { name: 'Recent deliveries' }).locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(1); // the test delivery
    await admin.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const published = await graphql(
      t.url,
      `mutation { publishEvent(input: { event: "build:complete", subjectType: BUILD_REPO, subject: "root/app", payload: { build: 7 } }) { deliveries { id } userErrors { message } } }`,
    );
    expect(published.data!.publishEvent.deliveries).toHaveLength(1);
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    await expect.poll(() => rows.first().innerText(), WAIT).toContain('SUCCEEDED');
    expect(await admin.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  });

  it('a receiver answering 500: the failed attempt\'s body shows, then "Redeliver" succeeds', async () => {
    answer = { status: 500, body: 'receiver exploded' };
    const published = await graphql(
      t.url,
      `mutation { publishEvent(input: { event: "build:complete", subjectType: BUILD_REPO, subject: "root/app", payload: { build: 8 } }) { deliveries { id } } }`,
    );
    const deliveryId = published.data!.publishEvent.deliveries[0].id as string;
    const rows = admin.getByRole('table', { name: 'Recent deliveries' }).locator('tbody tr');
    await expect.poll(() => rows.first().innerText(), WAIT).toContain('FAILED');
    await rows.first().getByRole('link').click();
    await admin.getByRole('heading', { name: /^Delivery / }).waitFor(WAIT);
    expect(admin.url()).toContain(encodeURIComponent(deliveryId));
    await admin.getByText('receiver exploded').first().waitFor(WAIT);
    expect(await admin.getByLabel('Payload').innerText()).toContain('"build": 8');
    await shot(admin, 'delivery');

    // Four failed attempts disable the hook for a while; "Re-enable" lifts that.
    await admin.getByRole('link', { name: 'Back to the hook' }).click();
    const status = admin.locator('.settings dt:text-is("Status") + dd');
    await expect.poll(() => status.innerText(), WAIT).toMatch(/^temporarily disabled until /);
    await admin.getByRole('button', { name: 'Re-enable' }).click();
    await expect.poll(() => status.innerText(), WAIT).toBe('active');
    expect(await admin.getByRole('button', { name: 'Re-enable' }).count()).toBe(0);

    answer = { status: 200, body: 'fine now' };
    await rows.first().getByRole('link').click();
    await admin.getByRole('heading', { name: /^Delivery / }).waitFor(WAIT);
    await admin.getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => admin.getByTestId('delivery-status').innerText(), WAIT).toBe('SUCCEEDED');
    await admin.getByText('fine now').waitFor(WAIT);
  });

  it("the delivery page shows each attempt's request headers (redacted by the API) and response status, headers and body", async () => {
    const attempts = admin.locator('ol.attempts > li');
    await expect.poll(() => attempts.count(), WAIT).toBeGreaterThanOrEqual(2);
    const webhookId = await admin.locator('.settings dt:text-is("Webhook id") + dd').innerText();
    const first = attempts.first();
    expect(await first.innerText()).toMatch(/Response status\s+500/);
    expect(await first.innerText()).toContain('receiver exploded');
    const sent = admin.getByRole('table', { name: 'Request headers of attempt 1' });
    await expect.poll(() => sent.innerText(), WAIT).toMatch(new RegExp(`webhook-id\\s+${webhookId}`, 'i'));
    expect(await sent.innerText()).toMatch(/webhook-signature\s+\[redacted\]/i);
    // What the receiver got carries the real signature; the page never shows it.
    const received = receiver.requests.find((r) => r.headers['webhook-id'] === webhookId)!;
    expect(await admin.locator('main').innerText()).not.toContain(String(received.headers['webhook-signature']).split(',')[1]);
    const answered = admin.getByRole('table', { name: 'Response headers of attempt 1' });
    expect(await answered.innerText()).toMatch(/content-type\s+text\/plain/i);
    const last = attempts.last();
    expect(await last.innerText()).toMatch(/Response status\s+200/);
    expect(await last.innerText()).toContain('fine now');
    await shot(admin, 'delivery-headers');
  });

  it("filters a hook's recent deliveries by status and time", async () => {
    answer = { status: 500, body: 'down again' };
    await admin.getByRole('link', { name: 'Back to the hook' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    const rows = admin.getByRole('table', { name: 'Recent deliveries' }).locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(3);
    const published = await graphql(
      t.url,
      `mutation { publishEvent(input: { event: "build:complete", subjectType: BUILD_REPO, subject: "root/app", payload: { build: 9 } }) { deliveries { id } } }`,
    );
    expect(published.data!.publishEvent.deliveries).toHaveLength(1);
    await expect.poll(() => rows.first().innerText(), WAIT).toContain('FAILED');

    await admin.getByLabel('Status').selectOption('FAILED');
    await expect.poll(() => rows.count(), WAIT).toBe(1);
    expect(await rows.first().innerText()).toContain('FAILED');
    await admin.getByLabel('Status').selectOption('SUCCEEDED');
    await expect.poll(() => rows.count(), WAIT).toBe(3);
    expect(await rows.allInnerTexts()).toEqual([
      expect.stringContaining('SUCCEEDED'),
      expect.stringContaining('SUCCEEDED'),
      expect.stringContaining('SUCCEEDED'),
    ]);
    await admin.getByLabel('Status').selectOption('');
    await admin.getByLabel('Since', { exact: true }).fill(await localMinute(admin, Date.now() + 2 * MINUTE));
    await expect.poll(() => rows.first().innerText(), WAIT).toBe('No deliveries match.');
    await admin.getByLabel('Since', { exact: true }).fill(await localMinute(admin, startedAt - MINUTE));
    await expect.poll(() => rows.count(), WAIT).toBe(4);
  });

  it('"Redeliver failed since …" shows the API\'s message for a bad time, then how many it scheduled', async () => {
    // The failures above may have disabled the hook for a while: lift that first.
    await admin.reload();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    const reEnable = admin.getByRole('button', { name: 'Re-enable' });
    if (await reEnable.count()) {
      await reEnable.click();
      await expect.poll(() => admin.locator('.settings dt:text-is("Status") + dd').innerText(), WAIT).toBe('active');
    }
    answer = { status: 200, body: 'recovered' };
    const hookId = decodeURIComponent(/#\/hooks\/([^/]+)$/.exec(admin.url())![1]!);
    const future = new Date(Date.now() + 2 * MINUTE);
    future.setSeconds(0, 0);
    const refused = await graphql(t.url, 'mutation($input: RedeliverFailedInput!) { redeliverFailed(input: $input) { count userErrors { message } } }', {
      input: { hookId, since: future.toISOString() },
    });
    const apiMessage = refused.data!.redeliverFailed.userErrors[0].message as string;

    const form = admin.getByRole('form', { name: 'Redeliver failed' });
    await form.getByLabel('Failed since').fill(await localMinute(admin, future.getTime()));
    await form.getByRole('button', { name: 'Redeliver failed' }).click();
    await form.getByRole('alert').filter({ hasText: apiMessage }).waitFor(WAIT);

    await admin.getByLabel('Status').selectOption('FAILED');
    const rows = admin.getByRole('table', { name: 'Recent deliveries' }).locator('tbody tr');
    await expect.poll(() => rows.allInnerTexts(), WAIT).toEqual([expect.stringContaining('FAILED')]);
    await form.getByLabel('Failed since').fill(await localMinute(admin, startedAt - MINUTE));
    await form.getByRole('button', { name: 'Redeliver failed' }).click();
    await form.getByRole('status').filter({ hasText: '1 failed delivery scheduled again.' }).waitFor(WAIT);
    // Live: the delivery leaves the FAILED list once it is redelivered, and succeeds.
    await expect.poll(() => rows.first().innerText(), WAIT).toBe('No deliveries match.');
    await admin.getByLabel('Status').selectOption('');
    await expect.poll(() => rows.first().innerText(), WAIT).toContain('SUCCEEDED');
    await shot(admin, 'hook-redeliver-failed');
  });

  it('the Deliveries page lists deliveries across hooks, filters by hook, status, event and time, pages, and opens one', async () => {
    const created = await graphql(t.url, 'mutation($input: CreateHookInput!) { createHook(input: $input) { hook { id } userErrors { message } } }', {
      input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject: 'root/paging', events: ['build:complete'], url: `${receiver.url}/paging` },
    });
    expect(created.data!.createHook.userErrors).toEqual([]);
    const pagingHook = created.data!.createHook.hook.id as string;
    for (let build = 1; build <= 21; build++) {
      const published = await graphql(
        t.url,
        `mutation { publishEvent(input: { event: "build:complete", subjectType: BUILD_REPO, subject: "root/paging", payload: { build: ${build} } }) { deliveries { id } } }`,
      );
      expect(published.data!.publishEvent.deliveries).toHaveLength(1);
    }
    // All 21 reach SUCCEEDED first (the page is not live), and the receiver is quiet again before the next tests.
    const succeeded = async () =>
      (
        await graphql(t.url, 'query($filter: DeliveryFilter) { deliveries(filter: $filter) { totalCount } }', {
          filter: { hookId: pagingHook, status: 'SUCCEEDED' },
        })
      ).data!.deliveries.totalCount as number;
    await expect.poll(succeeded, { timeout: 60_000 }).toBe(21);
    await admin.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await admin.getByRole('heading', { name: 'Deliveries' }).waitFor(WAIT);
    const count = admin.locator('p.count');
    const table = admin.getByRole('table', { name: 'Deliveries' });
    const rows = table.locator('tbody tr');
    await expect.poll(() => count.innerText(), WAIT).toMatch(/^\d+ deliveries$/);
    expect(Number.parseInt(await count.innerText(), 10)).toBeGreaterThanOrEqual(25);
    expect(await table.innerText()).toContain(`${receiver.url}/paging`);

    const filters = admin.getByRole('form', { name: 'Filter deliveries' });
    await filters.getByLabel('Hook').selectOption({ label: `${receiver.url}/paging` });
    await filters.getByLabel('Status').selectOption('SUCCEEDED');
    await expect.poll(() => count.innerText(), WAIT).toBe('21 deliveries');
    await expect.poll(() => rows.count(), WAIT).toBe(20);
    expect(await table.innerText()).not.toContain(`${receiver.url}/hook`);
    await admin.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(1);
    expect(await rows.first().innerText()).toContain('build:complete');
    await admin.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(20);
    await shot(admin, 'deliveries');

    await filters.getByLabel('Event').fill('image:push');
    await expect.poll(() => count.innerText(), WAIT).toBe('0 deliveries');
    await filters.getByLabel('Event').fill('build:complete');
    await expect.poll(() => count.innerText(), WAIT).toBe('21 deliveries');
    await filters.getByLabel('Created before').fill(await localMinute(admin, startedAt - MINUTE));
    await expect.poll(() => count.innerText(), WAIT).toBe('0 deliveries');
    await filters.getByLabel('Created before').fill('');
    await filters.getByLabel('Created after').fill(await localMinute(admin, Date.now() + 2 * MINUTE));
    await expect.poll(() => count.innerText(), WAIT).toBe('0 deliveries');
    await filters.getByLabel('Created after').fill(await localMinute(admin, startedAt - MINUTE));
    await expect.poll(() => count.innerText(), WAIT).toBe('21 deliveries');

    await rows.first().getByRole('link', { name: 'build:complete' }).click();
    await admin.getByRole('heading', { name: /^Delivery \d+: build:complete$/ }).waitFor(WAIT);
    expect(await admin.locator('.settings dt:text-is("Hook") + dd').innerText()).toBe(`${receiver.url}/paging`);
  });

  it('creates a user and shows its token once', async () => {
    await admin.getByRole('link', { name: 'Users and tokens' }).click();
    await admin.getByLabel('Username').fill('acme');
    await admin.getByRole('button', { name: 'Create user' }).click();
    const token = await admin.getByLabel('API token of acme').inputValue();
    expect(token).toMatch(/^hg_/);
    await shot(admin, 'users');
  });

  it("a portal link for acme shows acme's hooks only, hides admin pages, and stops working after expiry", async () => {
    const create = 'mutation($input: CreateHookInput!) { createHook(input: $input) { userErrors { message } } }';
    for (const subject of ['acme/shop', 'other/shop']) {
      const result = await graphql(t.url, create, {
        input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject, events: ['build:complete'], url: `${receiver.url}/${subject}` },
      });
      expect(result.data!.createHook.userErrors).toEqual([]);
    }
    await admin.getByRole('link', { name: 'Portal links' }).click();
    await admin.getByLabel('Namespace').fill('acme');
    await admin.getByRole('button', { name: 'Create link' }).click();
    const url = await admin.getByLabel(/^Portal link \(expires/).inputValue();
    expect(url.startsWith(`${origin}/console#portal=`)).toBe(true);
    await shot(admin, 'portal-links');

    const { context, page } = await newPage({ width: 390, height: 844 });
    await page.goto(url);
    const table = page.getByRole('table', { name: 'Hooks' });
    await table.getByRole('cell', { name: 'BUILD_REPO acme/shop' }).waitFor(WAIT);
    expect(await table.innerText()).not.toContain('other/shop');
    expect(await table.innerText()).not.toContain('root/app');
    expect(await page.getByRole('link', { name: 'Users and tokens' }).count()).toBe(0);
    // The header says whom the link acts as (`viewer` is the namespace).
    await page.locator('header .who').filter({ hasText: 'Portal session: acme' }).waitFor(WAIT);
    expect(page.url()).not.toContain('portal=');
    await shot(page, 'portal-hooks-390');
    // Usable at 390 px: nothing wider than the screen (wide tables scroll inside their own box).
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await t.app.db.prisma.portalSession.updateMany({ data: { expiresAt: new Date(Date.now() - 1_000) } });
    await page.reload();
    await page.getByText('Your session has ended. Sign in again.').waitFor(WAIT);
    const again = await newPage();
    await again.page.goto(url);
    await again.page.getByText('That portal link is not valid or has expired.').waitFor(WAIT);
    await context.close();
    await again.context.close();
  });

  it('creates a hook with the keyboard alone', async () => {
    const { context, page } = await newPage();
    await page.goto(`${t.url}/console`);
    await page.evaluate((token) => sessionStorage.setItem('hookgate.token', token), ADMIN_TOKEN);
    await page.reload();
    await page.getByRole('heading', { name: 'Hooks' }).waitFor(WAIT);
    await shot(page, 'hooks');
    /** Presses Tab until the focused element matches, as a keyboard user would. */
    const tabTo = async (selector: string) => {
      for (let i = 0; i < 60; i++) {
        if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
        await page.keyboard.press('Tab');
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    await tabTo('a.button[href="#/hooks/new"]');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'New hook' }).waitFor(WAIT);
    await tabTo('#url');
    await page.keyboard.type(`${receiver.url}/keyboard`);
    await tabTo('#subjectType');
    await page.keyboard.press('ArrowDown'); // IMAGE_REPO
    await tabTo('#subject');
    await page.keyboard.type('root/images');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    const settings = await page.locator('.settings').first().innerText();
    expect(settings).toContain('/keyboard');
    expect(settings).toContain('IMAGE_REPO root/images');
    expect(settings).toContain('image:push');

    // Deleting asks first, and the keyboard can answer.
    await tabTo('button.danger');
    await page.keyboard.press('Enter');
    await page.getByRole('alertdialog').waitFor(WAIT);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Yes, delete');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Hooks' }).waitFor(WAIT);
    await page.getByRole('table', { name: 'Hooks' }).getByText('root/app').waitFor(WAIT);
    expect(await page.getByRole('table', { name: 'Hooks' }).innerText()).not.toContain('/keyboard');

    await tabTo('header button');
    await page.keyboard.press('Enter'); // Sign out
    await page.getByLabel('API token').waitFor(WAIT);
    expect(await page.evaluate(() => sessionStorage.getItem('hookgate.token'))).toBeNull();
    await context.close();
  });

  it('edits a hook: the secret is only "set", URL variable values are write-only and fill the URL', async () => {
    answer = { status: 200, body: '{"received":true}' };
    await admin.getByRole('link', { name: 'Hooks', exact: true }).click();
    await admin.getByRole('link', { name: `${receiver.url}/hook`, exact: true }).click();
    await admin.getByRole('link', { name: 'Edit' }).click();
    await admin.getByRole('heading', { name: 'Edit hook' }).waitFor(WAIT);
    expect(await admin.locator('#secret').innerText()).toContain('set');
    expect(await admin.getByLabel('Secret', { exact: true }).count()).toBe(0);
    await admin.getByRole('button', { name: 'Replace secret' }).click();
    await admin.getByLabel('Secret', { exact: true }).fill('a-new-secret');
    await admin.getByLabel('URL', { exact: true }).fill(`${receiver.url}/hook/{token}`);
    await admin.getByRole('button', { name: 'Add variable' }).click();
    await admin.getByLabel('Key').fill('token');
    await admin.getByLabel('Value').fill('abc123');
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    const settings = await admin.locator('.settings').first().innerText();
    expect(settings).toContain(`${receiver.url}/hook/{token}`);
    expect(settings).toMatch(/URL variables\s+token/);
    expect(settings).not.toContain('abc123');

    const before = receiver.requests.length;
    await admin.getByRole('button', { name: 'Send test' }).click();
    await admin.getByRole('region', { name: 'Test result' }).getByText('"received": true').waitFor(WAIT);
    expect(receiver.requests.slice(before).map((r) => r.path)).toEqual(['/hook/abc123']);

    await admin.getByRole('link', { name: 'Edit' }).click();
    await admin.getByRole('heading', { name: 'Edit hook' }).waitFor(WAIT);
    expect(await admin.getByLabel('Value').inputValue()).toBe('');
    expect(await admin.getByLabel('Value').getAttribute('placeholder')).toBe('set (type to replace)');
    await shot(admin, 'hook-edit');
    await admin.getByRole('button', { name: 'Remove secret' }).click();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    expect(await admin.locator('.settings').first().innerText()).toMatch(/Secret\s+not set/);
  });

  it("custom headers: write-only rows, the API's message next to them, sent with every delivery", async () => {
    await admin.getByRole('link', { name: 'Edit' }).click();
    await admin.getByRole('heading', { name: 'Edit hook' }).waitFor(WAIT);
    const hookId = decodeURIComponent(/#\/hooks\/([^/]+)\/edit$/.exec(admin.url())![1]!);
    const refused = await graphql(t.url, 'mutation($input: UpdateHookInput!) { updateHook(input: $input) { userErrors { field message } } }', {
      input: { id: hookId, customHeaders: [{ key: 'Webhook-Team', value: 'blue-42' }] },
    });
    const apiMessage = refused.data!.updateHook.userErrors[0].message as string;

    await admin.getByRole('button', { name: 'Add header' }).click();
    await admin.getByLabel('Header name').fill('Webhook-Team');
    await admin.getByLabel('Header value').fill('blue-42');
    await admin.getByRole('button', { name: 'Save' }).click();
    const error = admin.locator('#customHeaders-error');
    await error.waitFor(WAIT);
    expect(await error.innerText()).toBe(apiMessage);

    await admin.getByLabel('Header name').fill('X-Team');
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    const settings = await admin.locator('.settings').first().innerText();
    expect(settings).toMatch(/Custom headers\s+X-Team/);
    expect(settings).not.toContain('blue-42');

    const before = receiver.requests.length;
    await admin.getByRole('button', { name: 'Send test' }).click();
    await admin.getByRole('region', { name: 'Test result' }).getByText('"received": true').waitFor(WAIT);
    expect(receiver.requests.slice(before).map((r) => r.headers['x-team'])).toEqual(['blue-42']);

    await admin.getByRole('link', { name: 'Edit' }).click();
    await admin.getByRole('heading', { name: 'Edit hook' }).waitFor(WAIT);
    expect(await admin.getByLabel('Header name').inputValue()).toBe('X-Team');
    expect(await admin.getByLabel('Header value').inputValue()).toBe('');
    expect(await admin.getByLabel('Header value').getAttribute('placeholder')).toBe('set (type to replace)');
    await admin.getByRole('button', { name: 'Remove header X-Team' }).click();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    expect(await admin.locator('.settings').first().innerText()).toMatch(/Custom headers\s+none/);
  });

  it('"Rotate secret" shows the new secret once; during the grace period deliveries verify with both', async () => {
    const rotate = async (graceHours: string) => {
      await admin.getByRole('button', { name: 'Rotate secret' }).click();
      const form = admin.getByRole('form', { name: 'Rotate secret' });
      await form.getByLabel('Grace period (hours)').fill(graceHours);
      await form.getByRole('button', { name: 'Rotate', exact: true }).click();
      const shown = admin.getByLabel('New secret', { exact: true });
      await shown.waitFor(WAIT);
      return shown.inputValue();
    };
    const first = await rotate('24');
    expect(first).toMatch(/^whsec_/);
    const second = await rotate('2');
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(first);
    await admin.getByRole('status').filter({ hasText: 'deliveries are signed with the previous secret too' }).waitFor(WAIT);
    await expect.poll(() => admin.locator('.settings').first().innerText(), WAIT).toMatch(/Previous secret\s+also signs until/);
    await shot(admin, 'hook-rotated');

    const before = receiver.requests.length;
    await admin.getByRole('button', { name: 'Send test' }).click();
    await admin.getByRole('region', { name: 'Test result' }).getByText('"received": true').waitFor(WAIT);
    const [sent] = receiver.requests.slice(before);
    const headers = sent!.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [second, first]) expect(() => new Webhook(secret).verify(sent!.body, headers)).not.toThrow();
    expect(() => new Webhook(`whsec_${Buffer.from('some other secret').toString('base64')}`).verify(sent!.body, headers)).toThrow();

    // Shown once: gone after a reload.
    await admin.reload();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    expect(await admin.getByLabel('New secret', { exact: true }).count()).toBe(0);
  });

  it('an Ed25519 hook made in the form shows its public key, and its deliveries verify with it', async () => {
    await admin.getByRole('link', { name: 'Hooks', exact: true }).click();
    await admin.getByRole('link', { name: 'New hook' }).click();
    await admin.getByLabel('URL', { exact: true }).fill(`${receiver.url}/ed25519`);
    await admin.getByLabel('Subject', { exact: true }).fill('root/signed');
    await admin.getByLabel('Signature scheme').selectOption('ED25519');
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    const publicKey = await admin.locator('.settings code').innerText();
    expect(publicKey).toMatch(/^whpk_/);
    expect(await admin.locator('.settings').first().innerText()).toContain('Ed25519 (v1a)');

    const before = receiver.requests.length;
    await admin.getByRole('button', { name: 'Send test' }).click();
    await admin.getByRole('region', { name: 'Test result' }).getByText('"received": true').waitFor(WAIT);
    const [sent] = receiver.requests.slice(before);
    const headers = sent!.headers as Record<string, string>;
    const [version, signature] = headers['webhook-signature']!.split(',');
    expect(version).toBe('v1a');
    const key = createPublicKey({
      format: 'jwk',
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url') },
    });
    const signed = Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${sent!.body}`);
    expect(verify(null, signed, key, Buffer.from(signature!, 'base64'))).toBe(true);
  });

  it('a system hook with a token and a signing token: both write-only, the signing token signs', async () => {
    const signingToken = `whsec_${randomBytes(32).toString('base64')}`;
    await admin.getByRole('link', { name: 'Hooks', exact: true }).click();
    await admin.getByRole('link', { name: 'New hook' }).click();
    await admin.getByLabel('Kind').selectOption('SYSTEM');
    await admin.getByLabel('URL', { exact: true }).fill(`${receiver.url}/system`);
    await admin.getByLabel('Token', { exact: true }).fill('plain-gitlab-token');
    await admin.getByLabel('Signing token', { exact: true }).fill(signingToken);
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    const settings = await admin.locator('.settings').first().innerText();
    expect(settings).toMatch(/Token\s+set/);
    expect(settings).toMatch(/Signing token\s+set/);
    expect(settings).not.toContain('plain-gitlab-token');

    const before = receiver.requests.length;
    await admin.getByRole('button', { name: 'Send test' }).click();
    await admin.getByRole('region', { name: 'Test result' }).getByText('"received": true').waitFor(WAIT);
    const [sent] = receiver.requests.slice(before);
    const headers = sent!.headers as Record<string, string>;
    expect(headers['x-gitlab-token']).toBe('plain-gitlab-token');
    expect(() => new Webhook(signingToken).verify(sent!.body, headers)).not.toThrow();

    await admin.getByRole('link', { name: 'Edit' }).click();
    await admin.getByRole('heading', { name: 'Edit hook' }).waitFor(WAIT);
    expect(await admin.locator('#signingToken').innerText()).toContain('set');
    expect(await admin.getByLabel('Signing token', { exact: true }).count()).toBe(0);
    await admin.getByRole('button', { name: 'Remove signing token' }).click();
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('heading', { name: /^Hook / }).waitFor(WAIT);
    expect(await admin.locator('.settings').first().innerText()).toMatch(/Signing token\s+not set/);
  });

  it('a portal link works inside an <iframe> of an origin in HOOKGATE_CONSOLE_FRAME_ANCESTORS, and only there', async () => {
    const created = await graphql(t.url, 'mutation { createPortalSession(input: { namespace: "acme" }) { url userErrors { message } } }');
    const url = created.data!.createPortalSession.url as string;
    customer.embedded.url = url;
    stranger.embedded.url = url;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Besides the two product pages, everything must come from Hookgate.
    await context.route('**/*', (route) => {
      const target = route.request().url();
      if ([origin, customer.origin, stranger.origin].some((allowed) => target.startsWith(`${allowed}/`))) return route.continue();
      foreign.push(target);
      return route.abort();
    });
    const page = await context.newPage();
    await page.goto(`${customer.origin}/settings/webhooks`);
    const frame = page.frameLocator('iframe[title="Webhooks"]');
    await frame.getByRole('table', { name: 'Hooks' }).getByRole('cell', { name: 'BUILD_REPO acme/shop' }).waitFor(WAIT);
    await frame.locator('header .who').filter({ hasText: 'Portal session: acme' }).waitFor(WAIT);
    await shot(page, 'portal-iframe');

    // Another site's frame is refused by the browser (CSP frame-ancestors): it never shows the console.
    const other = await context.newPage();
    await other.goto(`${stranger.origin}/`);
    await expect
      .poll(
        () =>
          other
            .frames()
            .find((f) => f !== other.mainFrame())
            ?.url(),
        WAIT,
      )
      .toMatch(/^chrome-error:/);
    expect(await other.frameLocator('iframe').locator('header').count()).toBe(0);
    await context.close();
  });

  it('loaded nothing from another host', () => {
    expect(foreign).toEqual([]);
  });

  it('sent persisted operations only: a documentId of the manifest, never a document', () => {
    const manifest = readManifest();
    expect(graphqlRequests.length).toBeGreaterThan(10);
    for (const sent of graphqlRequests) {
      expect(sent).not.toHaveProperty('query');
      expect(Object.hasOwn(manifest, String(sent.documentId))).toBe(true);
    }
    // The live updates too (GET, Server-Sent Events).
    expect(graphqlRequests.some((sent) => sent.operationName === 'DeliveryUpdated')).toBe(true);
  });
});

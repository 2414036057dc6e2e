// The Hookgate Console in real Chromium against a real Hookgate (PGlite) and a real receiver.
// Screenshots of each page go to a temporary directory printed at the end.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/graphql/persisted-manifest';
import { chromiumMissing, launchChromium } from '../browser';
import { startReceiver, type Receiver } from '../delivery/receiver';
import { ADMIN_TOKEN, backends, graphql, startTestApp, type TestApp } from '../helpers';

const WAIT = { timeout: 20_000 };

describe.skipIf(chromiumMissing).each(backends)('Hookgate Console on %s', (backend) => {
  let t: TestApp;
  let browser: Browser;
  let receiver: Receiver;
  let shots: string;
  let origin: string;
  /** What the receiver answers next: the test switches it. */
  let answer = { status: 200, body: '{"received":true}' };
  let admin: Page;
  const foreign: string[] = [];
  /** Every GraphQL request the console made (POST bodies, GET query strings). */
  const graphqlRequests: Record<string, unknown>[] = [];

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
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    shots = await mkdtemp(path.join(tmpdir(), 'hookgate-console-'));
    receiver = await startReceiver(() => answer);
    t = await startTestApp(backend);
    origin = new URL(t.url).origin;
    browser = await launchChromium();
    admin = (await newPage()).page;
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await receiver?.close();
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

  it('creates a subject hook: the API\'s message for a bad URL sits next to the URL field, then it saves', async () => {
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

  it('a published event\'s delivery appears and reaches SUCCEEDED without a reload', async () => {
    const rows = admin.getByRole('table', { name: 'Recent deliveries' }).locator('tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(1); // the test delivery
    await admin.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    const published = await graphql(t.url, `mutation { publishEvent(input: { event: "build:complete", subjectType: BUILD_REPO, subject: "root/app", payload: { build: 7 } }) { deliveries { id } userErrors { message } } }`);
    expect(published.data!.publishEvent.deliveries).toHaveLength(1);
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    await expect.poll(() => rows.first().innerText(), WAIT).toContain('SUCCEEDED');
    expect(await admin.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  });

  it('a receiver answering 500: the failed attempt\'s body shows, then "Redeliver" succeeds', async () => {
    answer = { status: 500, body: 'receiver exploded' };
    const published = await graphql(t.url, `mutation { publishEvent(input: { event: "build:complete", subjectType: BUILD_REPO, subject: "root/app", payload: { build: 8 } }) { deliveries { id } } }`);
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

  it('creates a user and shows its token once', async () => {
    await admin.getByRole('link', { name: 'Users and tokens' }).click();
    await admin.getByLabel('Username').fill('acme');
    await admin.getByRole('button', { name: 'Create user' }).click();
    const token = await admin.getByLabel('API token of acme').inputValue();
    expect(token).toMatch(/^hg_/);
    await shot(admin, 'users');
  });

  it('a portal link for acme shows acme\'s hooks only, hides admin pages, and stops working after expiry', async () => {
    const create = 'mutation($input: CreateHookInput!) { createHook(input: $input) { userErrors { message } } }';
    for (const subject of ['acme/shop', 'other/shop']) {
      const result = await graphql(t.url, create, { input: { kind: 'SUBJECT', subjectType: 'BUILD_REPO', subject, events: ['build:complete'], url: `${receiver.url}/${subject}` } });
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
    expect(page.url()).not.toContain('portal=');
    await shot(page, 'portal-hooks-390');

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

// GraphiQL in a real browser (Debian's Chromium driven by playwright-core): the page is served by
// Hookgate alone, runs a query with a pasted token, and shows the result.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers';

const CHROMIUM = '/usr/bin/chromium';

describe('GraphiQL', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    t = await startTestApp('pglite');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('runs { viewer { username } } with a pasted token, loading nothing from another host', async () => {
    const origin = new URL(t.url).origin;
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    // Anything not ours would be refused here too, so a CDN dependency could never pass silently.
    await page.route('**/*', (route) => {
      const target = route.request().url();
      return target.startsWith(origin) || target.startsWith('data:') || target.startsWith('blob:') ? route.continue() : route.abort();
    });

    const response = await page.goto(`${t.url}/graphql`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/text\/html/);
    const queryEditor = page.locator('.graphiql-query-editor');
    await queryEditor.waitFor({ timeout: 30_000 });
    // The default document shows example operations.
    await expect.poll(async () => page.locator('.graphiql-query-editor').innerText(), { timeout: 15_000 }).toContain('viewer');

    // Replace the document.
    await queryEditor.locator('.monaco-editor').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('{ viewer { username } }');

    // Paste the token in the headers pane (open by default).
    const headersEditor = page.locator('.graphiql-editor-tool .monaco-editor').last();
    await headersEditor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${ADMIN_TOKEN}` }));

    await page.locator('.graphiql-execute-button').click();
    await expect.poll(async () => page.locator('.graphiql-response').innerText(), { timeout: 20_000 }).toContain('"root"');

    const foreign = requested.filter((url) => !url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:'));
    expect(foreign).toEqual([]);
    expect(requested.some((url) => url.startsWith(`${origin}/graphql`))).toBe(true);
    await page.close();
  }, 90_000);
});

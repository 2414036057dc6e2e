// Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core. Without it the
// tests are skipped with one line saying why, except in CI (CI=true), which always has it.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumMissing = !existsSync(CHROMIUM);

if (chromiumMissing) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  console.warn(`browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * A real browser for UI tests and benchmarks: Debian's Chromium (`/usr/bin/chromium`, installed by
 * .ci/run where it is missing) driven by playwright-core, headless, with a fresh profile and the
 * background networking off (this machine has no network but loopback). Closed whatever happens.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.FLOWHOST_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    async close() {
      // playwright gives each launch a fresh profile of its own and removes it on close.
      await browser.close().catch(() => {});
    },
  };
}

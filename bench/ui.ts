/**
 * The web UI in a real browser (Debian's Chromium), against `flowhost server` with seeded data:
 *
 *  - charts: 100 runs × 10 metrics × 10,000 steps. Figure: time from the first chart's data
 *    reaching the page to that chart drawn (target ≤ 1 s), and the longest main-thread task while
 *    the chart view loads and draws (target ≤ 200 ms).
 *  - table: 10,000 runs loaded into the runs table, then scrolled top to bottom. Figure: the longest
 *    main-thread task while scrolling (target ≤ 50 ms).
 *
 * Long tasks are Chromium's own `longtask` entries (every task over 50 ms). Beside each figure:
 * its target, and the ceiling measured in the same run: the longest task of the same page doing
 * nothing but idling for as long (what the machine's load alone costs).
 *
 *   node dist/bench/ui.js [--quick]      (--quick: 20 runs × 3 metrics × 2,000 steps, 2,000 runs)
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions handed to page.evaluate run in the browser; the DOM's types are not in the Node program */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startServer } from '../host/server/server.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { fmt, machine, printTable } from './lib.js';

declare const window: any;
declare const performance: any;
declare const document: any;

/** Records every long task of the page from its first moment, and clears them on demand. */
const LONG_TASKS = `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
    .observe({ type: 'longtask', buffered: true });
`;

async function longestTask(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, ...window.__longTasks));
}

async function clearTasks(page: Page): Promise<void> {
  await page.evaluate(() => (window.__longTasks = []));
}

export async function runUiBench(argv = process.argv): Promise<void> {
  const quick = argv.includes('--quick');
  const runs = quick ? 20 : 100;
  const metrics = quick ? 3 : 10;
  const steps = quick ? 2000 : 10_000;
  const tableRuns = quick ? 2000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'flowhost-ui-bench-'));
  const server = await startServer({
    backendStoreUri: `file:${dir}/mlruns`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
  });
  const { browser, close } = await launchBrowser();
  try {
    const tracking = await server.flowhost.trackingStore(`file:${dir}/mlruns`, { artifactUri: 'mlflow-artifacts:/' });
    const seedStarted = performance.now();
    const chartExperiment = await tracking.createExperiment('charts', null, []);
    const runIds: string[] = [];
    for (let r = 0; r < runs; r++) {
      const run = await tracking.createRun(chartExperiment, 'bench', 1_700_000_000_000, [], `run-${r}`);
      runIds.push(run.info.runId);
      for (let m = 0; m < metrics; m++) {
        for (let from = 0; from < steps; from += 1000) {
          const batch = Array.from({ length: Math.min(1000, steps - from) }, (_, i) => ({
            key: `metric-${m}`,
            value: Math.sin((from + i) / 500 + r) + m,
            timestamp: 1_700_000_000_000 + (from + i) * 100,
            step: from + i,
          }));
          await tracking.logBatch(run.info.runId, batch, [], []);
        }
      }
    }
    const tableExperiment = await tracking.createExperiment('table', null, []);
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < tableRuns; i++) {
      pending.push(tracking.createRun(tableExperiment, 'bench', 1_700_000_000_000 + i, [], `trial-${i}`));
      if (pending.length >= 64) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // Charts.
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.addInitScript(LONG_TASKS);
    await page.goto(`${server.url}/#/charts?runs=${runIds.join(',')}`);
    await page.waitForFunction(() => performance.getEntriesByName('flowhost:chart-drawn').length > 0, null, {
      timeout: 600_000,
      polling: 50,
    });
    const [dataArrived] = await page.evaluate(() =>
      performance.getEntriesByName('flowhost:data-arrived').map((e: any) => e.startTime),
    );
    const [firstDrawn] = await page.evaluate(() =>
      performance.getEntriesByName('flowhost:chart-drawn').map((e: any) => e.startTime),
    );
    // Every chart in view drawn, then the longest task of the whole chart view.
    await page.waitForFunction(
      () =>
        document.querySelectorAll('.chart-canvas[data-drawn]').length >=
        Math.min(4, document.querySelectorAll('.chart-card').length),
      null,
      { timeout: 600_000 },
    );
    const chartLongest = await longestTask(page);
    await clearTasks(page);
    await page.waitForTimeout(3000);
    const idleLongest = await longestTask(page);

    // Table: every page loaded, then a scroll from top to bottom.
    await page.goto(`${server.url}/#/experiments/${tableExperiment}`);
    const table = page.getByRole('table', { name: 'runs' });
    await table.waitFor();
    for (let i = 0; i < 200 && !/^\d+ runs(?! loaded)/.test((await page.locator('.count').textContent()) ?? ''); i++) {
      await table.evaluate((el: any) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(200);
    }
    await table.evaluate((el: any) => el.scrollTo(0, 0));
    await page.waitForTimeout(500);
    await clearTasks(page);
    const box = (await table.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const scrollStarted = performance.now();
    for (let i = 0; i < 300; i++) {
      await page.mouse.wheel(0, (tableRuns * 30) / 300);
      await page.waitForTimeout(16);
    }
    const scrollSeconds = (performance.now() - scrollStarted) / 1000;
    const scrollLongest = await longestTask(page);
    const rowsInPage = await page.locator('[data-run-id]').count();

    console.log(
      `\nWeb UI in Chromium: ${runs} runs × ${metrics} metrics × ${steps} steps; ${tableRuns} runs in the table (seeded in ${fmt(seedSeconds, 0)} s)`,
      machine(),
    );
    printTable([
      ['figure', 'value', 'target', 'ceiling (idle page, same run)'],
      ['first chart drawn after its data arrived', `${fmt(firstDrawn - dataArrived, 0)} ms`, '≤ 1000 ms', ''],
      ['longest task, chart view', `${fmt(chartLongest, 0)} ms`, '≤ 200 ms', `${fmt(idleLongest, 0)} ms`],
      [
        `longest task, scrolling ${tableRuns} runs (${fmt(scrollSeconds, 1)} s, ${rowsInPage} rows in the page)`,
        `${fmt(scrollLongest, 0)} ms`,
        '≤ 50 ms',
        `${fmt(idleLongest, 0)} ms`,
      ],
    ]);
    console.log('0 ms means no task over 50 ms (Chromium reports only those).');
    await page.close();
  } finally {
    await close();
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runUiBench();

/**
 * The web UI in a real browser (Debian's Chromium through playwright-core) against a real
 * `flowhost server` on 127.0.0.1 with seeded data: every page is clicked through and what it shows
 * is checked (names, values, charts drawn with the right number of series), plus basic
 * accessibility (every control named, keyboard reachable, text contrast). Screenshots of each page
 * go to `test-output/screenshots/` (or `FLOWHOST_SCREENSHOTS`). One server and one browser for the
 * file, pages one at a time: the browser is the heaviest thing the suite runs.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- functions handed to page.evaluate run in the browser; the DOM's types are not in the Node program */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../host/server/server.js';
import { launchBrowser } from './helpers/browser.js';
import { repoRoot } from './helpers/hosts.js';

// Functions handed to page.evaluate run in the browser: these name its globals for the compiler
// without bringing the DOM's types into the Node program.
declare const document: any;
declare const getComputedStyle: any;

let dir: string;
let server: RunningServer;
let browser: Browser;
let closeBrowser: () => Promise<void>;
const shots = process.env.FLOWHOST_SCREENSHOTS ?? join(repoRoot, 'test-output/screenshots');
const seeded = { experimentId: '', runIds: [] as string[], childId: '', manyExperimentId: '' };

async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}/api/2.0/mlflow/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function upload(runId: string, experimentId: string, path: string, bytes: Uint8Array | string) {
  const response = await fetch(
    `${server.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`,
    { method: 'PUT', body: bytes },
  );
  if (!response.ok) throw new Error(`upload ${path}: ${response.status}`);
}

/** A 1×1 PNG: enough for the browser to decode a real image. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flowhost-ui-'));
  server = await startServer({
    backendStoreUri: `file:${dir}/mlruns`,
    defaultArtifactRoot: 'mlflow-artifacts:/',
    serveArtifacts: true,
    artifactsDestination: `${dir}/mlartifacts`,
    host: '127.0.0.1',
    port: 0,
  });
  ({ browser, close: closeBrowser } = await launchBrowser());
  mkdirSync(shots, { recursive: true });

  const { experiment_id } = await api('POST', 'experiments/create', {
    name: 'vision',
    tags: [{ key: 'team', value: 'cv' }],
  });
  seeded.experimentId = experiment_id;
  await api('POST', 'experiments/create', { name: 'nlp' });
  const doomed = await api('POST', 'experiments/create', { name: 'old-ideas' });
  await api('POST', 'experiments/delete', { experiment_id: doomed.experiment_id });
  const start = 1_700_000_000_000;
  for (let r = 0; r < 3; r++) {
    const run = await api('POST', 'runs/create', {
      experiment_id,
      start_time: start + r * 1000,
      run_name: `resnet-${r}`,
      tags: [{ key: 'mlflow.user', value: 'ada' }],
    });
    const runId = run.run.info.run_id as string;
    seeded.runIds.push(runId);
    const metrics = [];
    for (let step = 0; step < 300; step++) {
      metrics.push({ key: 'loss', value: 2 / (step + 1 + r), timestamp: start + step * 1000, step });
      metrics.push({ key: 'acc', value: 1 - 1 / (step + 2 + r), timestamp: start + step * 1000, step });
    }
    await api('POST', 'runs/log-batch', {
      run_id: runId,
      params: [
        { key: 'lr', value: String([0.1, 0.01, 0.001][r]) },
        { key: 'optimizer', value: 'adam' },
      ],
      metrics,
      tags: [{ key: 'stage', value: r === 0 ? 'baseline' : 'tuned' }],
    });
    await api('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: start + 300_000 });
  }
  const child = await api('POST', 'runs/create', {
    experiment_id,
    start_time: start,
    run_name: 'resnet-0-fold-1',
    tags: [{ key: 'mlflow.parentRunId', value: seeded.runIds[0] }],
  });
  seeded.childId = child.run.info.run_id;
  const main = seeded.runIds[0];
  await upload(main, experiment_id, 'notes.txt', 'trained on the full set\n');
  await upload(main, experiment_id, 'config/params.json', '{"lr":0.1,"layers":[64,128]}');
  await upload(main, experiment_id, 'eval/scores.csv', 'class,precision,recall\ncat,0.91,0.88\ndog,"0.87",0.9\n');
  await upload(main, experiment_id, 'plots/confusion.png', PNG);

  await api('POST', 'registered-models/create', { name: 'resnet-classifier', description: 'Classifies images.' });
  for (const runId of seeded.runIds.slice(0, 2)) {
    await api('POST', 'model-versions/create', {
      name: 'resnet-classifier',
      source: `mlflow-artifacts:/${experiment_id}/${runId}/artifacts/model`,
      run_id: runId,
    });
  }
  await api('POST', 'model-versions/transition-stage', {
    name: 'resnet-classifier',
    version: '1',
    stage: 'Production',
    archive_existing_versions: false,
  });
  await api('POST', 'registered-models/alias', { name: 'resnet-classifier', alias: 'champion', version: '1' });
  await api('POST', 'registered-models/set-tag', { name: 'resnet-classifier', key: 'task', value: 'classification' });

  // Enough runs for several pages of the table and a virtualised scroll.
  const many = await api('POST', 'experiments/create', { name: 'sweep' });
  seeded.manyExperimentId = many.experiment_id;
  const tracking = await server.flowhost.trackingStore(`file:${dir}/mlruns`, { artifactUri: 'mlflow-artifacts:/' });
  const created: Promise<unknown>[] = [];
  for (let i = 0; i < 2500; i++) {
    created.push(
      tracking
        .createRun(
          many.experiment_id,
          'ada',
          start + i,
          [{ key: 'mlflow.runName', value: `trial-${String(i).padStart(4, '0')}` }],
          `trial-${String(i).padStart(4, '0')}`,
        )
        .then((run) =>
          tracking.logMetric(run.info.runId, { key: 'score', value: i / 2500, timestamp: start, step: 0 }),
        ),
    );
    if (created.length >= 64) await Promise.all(created.splice(0));
  }
  await Promise.all(created);
});

test.after.always(async () => {
  await closeBrowser?.();
  await server?.close(1000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(hash: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  (page as Page & { errors: string[] }).errors = errors;
  await page.goto(`${server.url}/${hash}`);
  return page;
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const pageErrors = (page: Page) => (page as Page & { errors: string[] }).errors;

test.serial('the server serves the UI with caching headers: index revalidated, hashed assets immutable', async (t) => {
  const index = await fetch(`${server.url}/`);
  t.is(index.status, 200);
  t.is(index.headers.get('cache-control'), 'no-cache');
  const html = await index.text();
  const script = /src="(static-files\/app-[^"]+\.js)"/.exec(html)?.[1];
  t.truthy(script, html);
  const asset = await fetch(`${server.url}/${script}`);
  t.is(asset.status, 200);
  t.is(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  t.regex(asset.headers.get('content-type') ?? '', /javascript/);
  for (const probe of [
    '/static-files/../../package.json',
    '/static-files/%2e%2e%2fpackage.json',
    '/static-files/nope.js',
  ]) {
    t.is((await fetch(`${server.url}${probe}`)).status, 404, probe);
  }
});

test.serial('experiments: listed, created, renamed, deleted and restored', async (t) => {
  const page = await open('#/experiments');
  await page.getByRole('link', { name: 'vision' }).waitFor();
  t.true(await page.getByRole('link', { name: 'nlp' }).isVisible());
  t.false(await page.getByRole('link', { name: 'old-ideas' }).isVisible());
  await shot(page, 'experiments');

  await page.getByLabel('New experiment').fill('audio');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('link', { name: 'audio' }).waitFor();

  page.once('dialog', (dialog) => void dialog.accept('speech'));
  await page.getByRole('row', { name: /audio/ }).getByRole('button', { name: 'Rename' }).click();
  await page.getByRole('link', { name: 'speech' }).waitFor();

  page.once('dialog', (dialog) => void dialog.accept());
  await page
    .getByRole('row', { name: /speech/ })
    .getByRole('button', { name: 'Delete' })
    .click();
  await page.getByRole('link', { name: 'speech' }).waitFor({ state: 'detached' });

  await page.getByLabel('Show').selectOption('DELETED_ONLY');
  await page.getByRole('link', { name: 'old-ideas' }).waitFor();
  await page
    .getByRole('row', { name: /speech/ })
    .getByRole('button', { name: 'Restore' })
    .click();
  await page.getByRole('link', { name: 'speech' }).waitFor({ state: 'detached' });
  await page.getByLabel('Show').selectOption('ACTIVE_ONLY');
  await page.getByRole('link', { name: 'speech' }).waitFor();

  await page.getByLabel('Filter').fill("name LIKE 'vis%'");
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'nlp' }).waitFor({ state: 'detached' });
  t.true(await page.getByRole('link', { name: 'vision' }).isVisible());
  t.deepEqual(pageErrors(page), []);
  await page.close();
});

test.serial(
  'runs: a table with picked columns, server-side sort, MLflow filters with errors inline, selection',
  async (t) => {
    const page = await open(`#/experiments/${seeded.experimentId}`);
    await page.getByRole('link', { name: 'resnet-2' }).waitFor();
    t.is(await page.locator('[data-run-id]').count(), 4);
    await shot(page, 'runs');

    // Sorting by a metric column asks the server (order_by); descending first.
    await page.getByRole('columnheader', { name: /^acc/ }).getByRole('button').click();
    await page.waitForFunction(() => document.querySelector('[role=columnheader][aria-sort=descending]') !== null);
    const names = async () => page.locator('[data-run-id] a').allTextContents();
    await page.waitForFunction(() => document.querySelector('[data-run-id] a')?.textContent === 'resnet-2');
    t.deepEqual((await names()).slice(0, 3), ['resnet-2', 'resnet-1', 'resnet-0']);

    await page.getByLabel('Filter runs').fill('metrics.nope >');
    await page.getByRole('button', { name: 'Search' }).click();
    const error = page.getByRole('alert');
    await error.waitFor();
    t.regex((await error.textContent()) ?? '', /INVALID_PARAMETER_VALUE/);

    await page.getByLabel('Filter runs').fill("params.lr = '0.01'");
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-run-id]').length === 1);
    t.deepEqual(await names(), ['resnet-1']);
    t.false(await page.getByRole('alert').isVisible());

    await page.getByLabel('Filter runs').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-run-id]').length === 4);
    await page.getByRole('button', { name: 'Columns' }).click();
    await page.getByRole('group', { name: 'Columns' }).getByLabel('stage').check();
    await page.getByRole('columnheader', { name: /stage/ }).waitFor();
    t.true((await page.locator('[data-run-id]').allTextContents()).some((row) => row.includes('baseline')));

    await page.getByLabel('select resnet-0', { exact: true }).check();
    await page.getByLabel('select resnet-1', { exact: true }).check();
    t.true(await page.getByRole('button', { name: 'Compare 2' }).isEnabled());
    t.deepEqual(pageErrors(page), []);
    await page.close();
  },
);

test.serial(
  'runs: 2,500 runs load page by page as the table scrolls, with a bounded number of rows in the page',
  async (t) => {
    const page = await open(`#/experiments/${seeded.manyExperimentId}`);
    await page.locator('[data-run-id]').first().waitFor();
    t.regex((await page.locator('.count').textContent()) ?? '', /^1000 runs loaded, more as you scroll/);
    const table = page.getByRole('table', { name: 'runs' });
    for (let i = 0; i < 40 && !/^2500 runs(?! loaded)/.test((await page.locator('.count').textContent()) ?? ''); i++) {
      await table.evaluate((el: any) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(100);
    }
    await page.waitForFunction(() => /^2500 runs(?! loaded)/.test(document.querySelector('.count')?.textContent ?? ''));
    t.true((await page.locator('[data-run-id]').count()) < 80, 'rows in the page stay bounded');
    // The oldest run is the last row (MLflow's default order: newest first).
    await table.evaluate((el: any) => el.scrollTo(0, el.scrollHeight));
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-run-id] a')].some((a: any) => a.textContent === 'trial-0000'),
    );
    t.deepEqual(pageErrors(page), []);
    await page.close();
  },
);

test.serial(
  'a run: info, params, latest metrics with sparklines, tags, nested runs, artifacts with previews',
  async (t) => {
    const page = await open(`#/runs/${seeded.runIds[0]}`);
    await page.getByRole('heading', { name: 'resnet-0' }).waitFor();
    const params = page.getByRole('table', { name: 'parameters' });
    t.regex((await params.textContent()) ?? '', /lr0\.1/);
    const metrics = page.getByRole('table', { name: 'metrics' });
    t.regex((await metrics.getByRole('row', { name: /^loss/ }).textContent()) ?? '', /0\.00666667/);
    await page.getByRole('img', { name: 'history of loss' }).waitFor();
    t.regex((await page.getByRole('table', { name: 'tags' }).textContent()) ?? '', /stagebaseline/);
    await page.getByRole('list', { name: 'nested runs' }).getByRole('link', { name: 'resnet-0-fold-1' }).waitFor();

    const tree = page.getByRole('tree', { name: 'artifacts' });
    await tree.getByRole('button', { name: 'notes.txt' }).click();
    await page.locator('.preview pre', { hasText: 'trained on the full set' }).waitFor();
    await tree.getByRole('button', { name: /config/ }).click();
    await tree.getByRole('button', { name: 'params.json' }).click();
    await page.locator('.preview pre', { hasText: '"layers": [' }).waitFor();
    await tree.getByRole('button', { name: /eval/ }).click();
    await tree.getByRole('button', { name: 'scores.csv' }).click();
    const csv = page.locator('.preview table');
    await csv.locator('th', { hasText: 'precision' }).waitFor();
    t.deepEqual(await csv.locator('th').allTextContents(), ['class', 'precision', 'recall']);
    t.deepEqual(await csv.locator('tbody tr').nth(1).locator('td').allTextContents(), ['dog', '0.87', '0.9']);
    await tree.getByRole('button', { name: /plots/ }).click();
    await tree.getByRole('button', { name: 'confusion.png' }).click();
    const image = page.getByRole('img', { name: 'plots/confusion.png' });
    await image.waitFor();
    await page.waitForFunction(() => document.querySelector('.preview img')?.naturalWidth === 1);
    t.regex(
      (await page.getByRole('link', { name: /Download confusion\.png/ }).getAttribute('href')) ?? '',
      /get-artifact\?path=plots%2Fconfusion\.png/,
    );
    await shot(page, 'run');
    t.deepEqual(pageErrors(page), []);
    await page.close();
  },
);

test.serial(
  'charts: one chart per metric with every selected run overlaid; step, wall and relative time; log scale',
  async (t) => {
    const page = await open(`#/charts?runs=${seeded.runIds.join(',')}`);
    const loss = page.locator('.chart-card[data-metric="loss"] .chart-canvas[data-drawn]');
    await loss.waitFor();
    t.is(await loss.getAttribute('data-series'), '3');
    t.is(await page.locator('.chart-card[data-metric="loss"]').getAttribute('data-points'), '900');
    t.is(await page.locator('.chart-card canvas').count(), 2);
    t.deepEqual(await page.getByRole('list', { name: 'runs' }).locator('li').allTextContents(), [
      'resnet-0',
      'resnet-1',
      'resnet-2',
    ]);
    await shot(page, 'charts');
    for (const axis of ['wall', 'relative'] as const) {
      await page.getByLabel('X axis').selectOption(axis);
      await page.waitForFunction(() => document.querySelector('.chart-card[data-metric="loss"] .u-wrap') !== null);
      await page.locator('.chart-card[data-metric="loss"] .chart-canvas[data-series="3"]').waitFor();
    }
    await page.getByLabel('Log scale').check();
    await page.getByLabel('Smoothing').fill('0.9');
    await page.locator('.chart-card[data-metric="acc"] .chart-canvas[data-drawn]').waitFor();
    t.deepEqual(pageErrors(page), []);
    await page.close();
  },
);

test.serial(
  'compare: differing params marked, latest metrics side by side, a param-against-metric scatter, charts',
  async (t) => {
    const page = await open(`#/compare?runs=${seeded.runIds.join(',')}`);
    const params = page.getByRole('table', { name: 'parameters compared' });
    await params.waitFor();
    t.is(await params.getByRole('row', { name: /^lr/ }).getAttribute('data-differs'), 'true');
    t.is(await params.getByRole('row', { name: /^optimizer/ }).getAttribute('data-differs'), 'false');
    const scatter = page.locator('figure[aria-label="scatter of acc against lr"] .chart-canvas');
    await scatter.waitFor();
    t.is(await scatter.getAttribute('data-points'), '3');
    await page.locator('.chart-card[data-metric="acc"] .chart-canvas[data-drawn]').waitFor();
    await shot(page, 'compare');
    t.deepEqual(pageErrors(page), []);
    await page.close();
  },
);

test.serial(
  'model registry: models, versions with stages and aliases, a version moved to another stage, its source run',
  async (t) => {
    const page = await open('#/models');
    await page.getByRole('link', { name: 'resnet-classifier' }).click();
    await page.getByText('Classifies images.').waitFor();
    const versions = page.getByRole('table', { name: 'versions' });
    await versions.getByRole('row', { name: /v1 Production @champion/ }).waitFor();
    t.regex((await versions.getByRole('row', { name: /v2/ }).textContent()) ?? '', /None/);
    t.regex((await page.getByRole('table', { name: 'tags' }).textContent()) ?? '', /taskclassification/);
    await shot(page, 'model');
    await versions.getByRole('link', { name: 'v2' }).click();
    await page.getByLabel('stage').selectOption('Staging');
    await page.getByLabel('New alias').fill('challenger');
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByText('@challenger').waitFor();
    const version = await api('GET', 'model-versions/get?name=resnet-classifier&version=2');
    t.is(version.model_version.current_stage, 'Staging');
    await page.getByRole('link', { name: seeded.runIds[1] }).click();
    await page.getByRole('heading', { name: 'resnet-1' }).waitFor();
    t.deepEqual(pageErrors(page), []);
    await page.close();
  },
);

test.serial(
  'plugin health: every plugin instance of the server with its isolation, state, calls and latency',
  async (t) => {
    const page = await open('#/health');
    const table = page.getByRole('table', { name: 'plugins of tenant default' });
    await table.waitFor();
    const row = table.locator('tr[data-plugin="file"]').first();
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    t.is(cells[1], 'ready');
    t.true(Number(cells[4]) > 0, `calls: ${cells[4]}`);
    t.true(cells[0].length > 0, 'isolation level shown');
    await page
      .getByRole('img', { name: /latency histogram of file/ })
      .first()
      .waitFor();
    await shot(page, 'health');
    t.deepEqual(pageErrors(page), []);
    await page.close();
  },
);

test.serial(
  'accessibility: every control is named, the keyboard reaches the navigation, text contrast is at least 4.5:1',
  async (t) => {
    for (const hash of [
      '#/experiments',
      `#/experiments/${seeded.experimentId}`,
      `#/runs/${seeded.runIds[0]}`,
      '#/models',
      '#/health',
    ]) {
      const page = await open(hash);
      await page.waitForLoadState('networkidle');
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea, button')]
          .filter((el: any) => {
            const labelled = el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
            return !labelled && !(el.textContent ?? '').trim();
          })
          .map((el: any) => el.outerHTML.slice(0, 80)),
      );
      t.deepEqual(unnamed, [], `${hash}: controls without a name`);
      await page.close();
    }
    const page = await open('#/experiments');
    await page.getByRole('link', { name: 'vision' }).waitFor();
    const focused: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    t.deepEqual(focused, ['flowhost', 'Experiments', 'Models', 'Plugin health']);
    const ratio = await page.evaluate(() => {
      const luminance = (rgb: string) => {
        const [r, g, b] = rgb
          .match(/\d+/g)!
          .slice(0, 3)
          .map((v: string) => {
            const c = Number(v) / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
          });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const worst = (selector: string) =>
        Math.min(
          ...[...document.querySelectorAll(selector)].map((el: any) => {
            const fg = luminance(getComputedStyle(el).color);
            const bg = luminance(getComputedStyle(document.body).backgroundColor);
            return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
          }),
        );
      return Math.min(worst('main td, main th, main p, main label'), worst('main a'));
    });
    t.true(ratio >= 4.5, `contrast ${ratio.toFixed(2)}`);
    await page.close();
  },
);

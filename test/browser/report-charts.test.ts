/**
 * The run report's charts as a reader sees them, in a real headless Chromium (Debian's /usr/bin/chromium
 * driven by playwright-core), opened from a file with every network request refused: each chart turns
 * into an interactive Vega view from the page's inline runtime, the pointer on the loss curve gets a
 * tooltip with the step and the loss, and with JavaScript off the static SVGs are the charts.
 * Screenshots go to .artifacts/report/ (git-ignored) for a person to look at.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { renderReportCharts } from '../../report/charts';
import { renderReportHtml } from '../../report/html';
import { parseRunReport } from '../../report/report';
import { ROOT } from '../helpers/cli';
import { syntheticMetrics, syntheticReport } from '../helpers/report-fixture';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, '.artifacts', 'report');

let browser: Browser;
let dir: string;
let page: string;
const chartNames: string[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'simclr-report-browser-'));
  const report = parseRunReport(syntheticReport());
  const charts = await renderReportCharts(report, syntheticMetrics());
  chartNames.push(...charts.map((c) => c.name));
  page = join(dir, 'report.html');
  writeFileSync(page, renderReportHtml(report, charts));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A context that refuses anything but the file itself and records what was asked for. */
async function offline(javaScriptEnabled: boolean): Promise<{ context: BrowserContext; asked: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, javaScriptEnabled });
  const asked: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    asked.push(url);
    return route.abort();
  });
  return { context, asked };
}

test('report.html offline: every chart becomes an interactive view with tooltips', async () => {
  const { context, asked } = await offline(true);
  try {
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    tab.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    await tab.goto(`file://${page}`);
    await tab.waitForFunction(
      `document.querySelectorAll('figure.chart .chart-live:not([hidden]) svg.marks').length === ${chartNames.length}`,
      undefined,
      { timeout: 30_000 },
    );
    const figures = await tab.locator('figure.chart').all();
    assert.deepEqual(await Promise.all(figures.map((f) => f.getAttribute('data-name'))), chartNames);
    assert.equal(await tab.locator('figure.chart .chart-view').count(), 0, 'static SVGs replaced');
    // The interactive view draws what the static one did: the titles and axis titles are there.
    const loss = tab.locator('#chart-loss .chart-live');
    const text = await loss.locator('svg.marks').textContent();
    for (const s of ['Pretraining loss', 'step', 'NT-Xent loss', 'smoothed (EMA)'])
      assert.ok(text?.includes(s), `the live loss chart lacks '${s}'`);

    // The pointer over the middle of the plot: the nearest point's series, step and loss.
    await loss.scrollIntoViewIfNeeded();
    const box = (await loss.locator('svg.marks').boundingBox())!;
    await tab.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.6);
    const tooltip = tab.locator('#vg-tooltip-element');
    await tooltip.waitFor({ state: 'visible', timeout: 10_000 });
    const tip = (await tooltip.textContent()) ?? '';
    assert.match(tip, /series\s*(NT-Xent loss|smoothed \(EMA\))/);
    const step = Number(/step\s*([\d,]+)/.exec(tip)?.[1].replace(/,/g, ''));
    assert.ok(step > 100 && step < 300, `the middle of the 400 steps, not ${step} (tooltip: ${tip})`);
    assert.match(tip, /NT-Xent loss\s*\d\.\d+/, `tooltip: ${tip}`);
    await tab.screenshot({
      path: join(ARTIFACTS, 'loss-tooltip.png'),
      clip: { x: box.x - 10, y: box.y - 10, width: box.width + 60, height: box.height + 40 },
    });
    await tab.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    assert.deepEqual(asked, [], 'the page asked the network for something');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('report.html without JavaScript: the static SVG charts are shown', async () => {
  const { context, asked } = await offline(false);
  try {
    const tab = await context.newPage();
    await tab.goto(`file://${page}`);
    const svgs = await tab.locator('figure.chart .chart-view > svg').all();
    assert.equal(svgs.length, chartNames.length);
    for (const svg of svgs) {
      const { width, height } = (await svg.boundingBox())!;
      assert.ok(width > 800 && height > 400, `a static chart of ${width}×${height}`);
    }
    await tab.screenshot({ path: join(ARTIFACTS, 'report-static.png'), fullPage: true });
    assert.deepEqual(asked, []);
  } finally {
    await context.close();
  }
});

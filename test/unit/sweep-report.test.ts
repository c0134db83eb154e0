import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { expectationLines, variantTable } from '../../cli/sweep-view';
import { experimentSchema } from '../../config/schema';
import { checkExpectation, parseClaims } from '../../config/sweep-expectation';
import { parseRunReport, type RunReport } from '../../report/report';
import {
  buildSweepReport,
  sweepReportSchema,
  writeSweepReport,
  type SweepVariantOutcome,
} from '../../report/sweep-report';
import { FsBlobStore } from '../../storage/fs-store';
import { sweepKeys } from '../../storage/layout';
import { marks, texts } from '../helpers/vega-svg';

test('claims parse into comparisons: chains and comma-separated lists', () => {
  assert.deepEqual(parseClaims('nonlinear > linear > none'), [
    { better: 'nonlinear', worse: 'linear' },
    { better: 'linear', worse: 'none' },
  ]);
  assert.deepEqual(parseClaims('both > crop-only, both > color-only'), [
    { better: 'both', worse: 'crop-only' },
    { better: 'both', worse: 'color-only' },
  ]);
  assert.throws(() => parseClaims('both'), /expected comparisons like 'a > b'/);
  assert.throws(() => parseClaims('a > '), /expected a variant name on each side/);
});

test('the expectation checker: matches, does not match (strictly higher), incomplete', () => {
  const metrics = { both: { linearTop1: 0.8 }, crop: { linearTop1: 0.75 }, color: { linearTop1: 0.8 } };
  const ok = checkExpectation({ metric: 'linearTop1', holds: 'both > crop' }, metrics);
  assert.equal(ok.verdict, 'matches');
  assert.ok(Math.abs(ok.comparisons[0].difference! - 0.05) < 1e-12);
  const tie = checkExpectation({ metric: 'linearTop1', holds: 'both > crop, both > color' }, metrics);
  assert.equal(tie.verdict, 'does not match', 'a tie is not better');
  assert.deepEqual(
    tie.comparisons.map((c) => c.holds),
    [true, false],
  );
  const missing = checkExpectation({ metric: 'knnTop1', holds: 'both > crop' }, metrics);
  assert.equal(missing.verdict, 'incomplete');
  const wrong = checkExpectation({ metric: 'linearTop1', holds: 'crop > both, missing > both' }, metrics);
  assert.equal(wrong.verdict, 'does not match', 'one failed comparison decides, even with one missing');
});

function runReport(id: string, linear: number, knn: number, seconds: number): RunReport {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  return parseRunReport({
    experimentId: id,
    status: 'completed',
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date(t0 + seconds * 1000).toISOString(),
    workflowId: id,
    runId: 'r1',
    config: experimentSchema.parse({ name: 'x', dataset: { source: '/d' } }),
    dataset: {
      datasetId: 'ds',
      source: '/d',
      format: 'idx',
      imageSize: 28,
      channels: 1,
      classNames: ['a', 'b'],
      splits: { train: { count: 10, perClass: [5, 5] }, test: { count: 4, perClass: [2, 2] } },
    },
    backend: { name: 'tensorflow' },
    timings: [],
    pretrain: { epochs: 2, steps: 20, finalLoss: 4.5 },
    results: {
      linear: { top1: linear, top5: 1 },
      knn: { top1: knn, top5: 1, k: 200 },
      fineTune: [
        { fraction: 0.1, top1: linear - 0.1, top5: 1 },
        { fraction: 0.01, top1: linear - 0.2, top5: 1 },
      ],
    },
  });
}

function outcomes(): SweepVariantOutcome[] {
  return [
    {
      name: 'both',
      experimentId: 's1.both',
      workflowId: 's1/both',
      state: 'completed',
      knobs: { 'augmentation.cropAreaMin': 0.08 },
      run: runReport('s1.both', 0.8, 0.7, 95),
    },
    {
      name: 'crop',
      description: 'crop <b>&</b> flip',
      experimentId: 's1.crop',
      workflowId: 's1/crop',
      state: 'skipped',
      knobs: { 'augmentation.cropAreaMin': 0.2 },
      run: runReport('s1.crop', 0.7, 0.72, 80),
    },
    {
      name: 'color',
      experimentId: 's1.color',
      workflowId: 's1/color',
      state: 'failed',
      knobs: { 'augmentation.cropAreaMin': 1 },
      error: 'DivergedError: loss is NaN',
    },
  ];
}

const META = {
  sweepId: 's1',
  name: 'augmentations',
  source: 'preset augmentations',
  workflowId: 's1',
  runId: 'run-1',
  maxParallel: 1,
  expectations: [
    { metric: 'linearTop1' as const, holds: 'both > crop', source: '[SimCLR] Fig. 5' },
    { metric: 'knnTop1' as const, holds: 'both > crop', note: 'grayscale' },
    { metric: 'linearTop1' as const, holds: 'both > color' },
  ],
};

test('buildSweepReport: one row per variant with its numbers, and every expectation checked', () => {
  const report = buildSweepReport(META, outcomes());
  assert.deepEqual(report.knobs, ['augmentation.cropAreaMin']);
  const [both, crop, color] = report.rows;
  assert.deepEqual(
    [both.linearTop1, both.knnTop1, both.finalLoss, both.wallSeconds, both.epochs],
    [0.8, 0.7, 4.5, 95, 2],
  );
  assert.deepEqual(
    both.fineTune.map((f) => f.fraction),
    [0.01, 0.1],
    'sorted by fraction',
  );
  assert.equal(both.reportHtmlKey, 'experiments/s1.both/report.html');
  assert.equal(crop.state, 'skipped');
  assert.equal(color.linearTop1, undefined);
  assert.equal(color.error, 'DivergedError: loss is NaN');
  assert.deepEqual(
    report.expectations.map((e) => e.verdict),
    ['matches', 'does not match', 'incomplete'],
  );
  assert.doesNotThrow(() => sweepReportSchema.parse(JSON.parse(JSON.stringify(report))));
});

test('writeSweepReport stores charts, report.html and report.json under sweeps/<id>/', async () => {
  const root = mkdtempSync(join(tmpdir(), 'simclr-sweep-report-'));
  try {
    const store = new FsBlobStore(root);
    const report = buildSweepReport(META, outcomes());
    const curve = (v: string, a: number) => ({
      variant: v,
      points: Array.from({ length: 40 }, (_, i) => ({ x: i / 20, y: a + 2 * Math.exp(-i / 10) })),
    });
    const keys = await writeSweepReport(store, report, [curve('both', 4), curve('crop', 4.3)]);
    const expected = sweepKeys('s1');
    assert.equal(keys.reportJson, 'sweeps/s1/report.json');
    assert.equal(keys.reportHtml, expected.reportHtml);
    assert.deepEqual(keys.charts, ['sweeps/s1/charts/accuracy.png', 'sweeps/s1/charts/loss.png']);
    for (const k of keys.charts) {
      const meta = await sharp(await store.get(k)).metadata();
      assert.equal(meta.format, 'png');
      assert.ok((meta.width ?? 0) > 800);
    }
    const json = sweepReportSchema.parse(JSON.parse((await store.get(keys.reportJson)).toString('utf8')));
    assert.equal(json.rows.length, 3);
    const html = (await store.get(keys.reportHtml)).toString('utf8');
    assert.ok(!html.includes('<b>'), 'descriptions are escaped');
    assert.match(html, /crop &lt;b&gt;&amp;&lt;\/b&gt; flip/);
    assert.match(html, /does not match/);
    assert.match(html, /grayscale/, 'the note of an expectation that does not match');
    assert.match(html, /80\.00 %/);
    assert.match(html, /1 min 35 s/);
    assert.match(html, /DivergedError: loss is NaN/);
    assert.match(
      html,
      /<th><code>augmentation\.<wbr>cropAreaMin<\/code><\/th>/,
      'a knob may break after its dots',
    );
    // The charts, inline and interactive: the variants' bars and their overlaid loss curves.
    assert.ok(!html.includes('data:image/png'), 'no raster charts');
    const figure = (name: string) =>
      new RegExp(`<figure class="chart" id="chart-${name}"[\\s\\S]*?</figure>`).exec(html)![0];
    const bars = figure('accuracy');
    assert.deepEqual(texts(bars, 'legend-label'), ['linear evaluation', 'kNN']);
    assert.equal(marks(bars, 'rect').flat().length, 4, 'linear and kNN of the two variants with results');
    assert.deepEqual(texts(bars, 'axis-title'), ['top-1 accuracy (%)']);
    const loss = figure('loss');
    assert.deepEqual(texts(loss, 'legend-label'), ['both', 'crop']);
    assert.deepEqual(texts(loss, 'axis-title').sort(), ['NT-Xent loss', 'epoch']);
    assert.equal(marks(loss, 'line').flat().length, 2, 'one line per variant');
    assert.match(loss, /compare curves of one batch size/);
    for (const f of [bars, loss]) assert.match(f, /<script type="application\/json" class="chart-spec">\{/);
    assert.equal((html.match(/<script>\/\* vega-embed /g) ?? []).length, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the terminal view: a table of variants and one line per expectation', () => {
  const report = buildSweepReport(META, outcomes());
  const table = variantTable(
    report.rows.map((r) => ({
      name: r.variant,
      experimentId: r.experimentId,
      workflowId: r.workflowId,
      state: r.state,
      linearTop1: r.linearTop1,
      knnTop1: r.knnTop1,
    })),
  );
  assert.match(table, /^VARIANT\s+STATE\s+LINEAR TOP-1\s+KNN TOP-1\s+WORKFLOW/);
  assert.match(table, /crop\s+done earlier\s+70\.0 %\s+72\.0 %\s+s1\/crop/);
  assert.match(table, /color\s+FAILED/);
  assert.deepEqual(expectationLines(report.expectations), [
    '✓ linear top-1: both > crop — matches (+10.0 pp)',
    '✗ kNN top-1: both > crop — does not match (−2.0 pp)',
    '? linear top-1: both > color — incomplete',
  ]);
});

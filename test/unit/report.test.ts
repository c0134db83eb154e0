import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { experimentSchema } from '../../config/schema';
import { initBackend } from '../../simclr/backend';
import { FsBlobStore } from '../../storage/fs-store';
import { renderReportCharts, svgToPng } from '../../report/charts';
import { renderReportHtml } from '../../report/html';
import {
  appendMetrics,
  metric,
  metricsChunk,
  parseMetricsJsonl,
  readMetrics,
  writeMetricsJsonl,
  type MetricRecord,
} from '../../report/metrics';
import { parseRunReport, writeReport, type RunReportInput } from '../../report/report';
import { CHART_HEIGHT, CHART_WIDTH, formatTick, lineChartSvg, niceAxis } from '../../report/svg';
import { tensorBoardTag, writeTensorBoard } from '../../report/tensorboard';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** A 10-epoch run of 40 steps per epoch: decaying noisy loss, warm-up + cosine lr, rising kNN accuracy. */
function syntheticMetrics(): MetricRecord[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: MetricRecord[] = [];
  for (let step = 0; step < 400; step++) {
    const epoch = Math.floor(step / 40);
    out.push(
      metric('pretrain', 'loss', 4 + 2 * Math.exp(-step / 120) + (rnd() - 0.5) * 0.2, {
        time: at(step),
        epoch,
        step,
      }),
    );
    const lr = step < 40 ? (0.6 * (step + 1)) / 40 : 0.3 * (1 + Math.cos((Math.PI * (step - 40)) / 360));
    out.push(metric('pretrain', 'lr', lr, { time: at(step), epoch, step }));
  }
  for (let epoch = 0; epoch < 10; epoch++) {
    out.push(
      metric('knn', 'knn_top1', 0.4 + 0.35 * (1 - Math.exp(-epoch / 3)), {
        time: at(40 * (epoch + 1)),
        epoch,
      }),
    );
  }
  return out;
}

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover'];

function syntheticReport(): RunReportInput {
  return {
    experimentId: 'fmnist-test',
    status: 'completed',
    startedAt: at(0),
    finishedAt: at(3600),
    workflowId: 'experiment-fmnist-test',
    runId: 'run-0001',
    webUiUrl: 'http://localhost:8233/namespaces/default/workflows/experiment-fmnist-test/run-0001/history',
    config: experimentSchema.parse({
      name: 'fmnist-test',
      description: 'pretraining <script>alert("x")</script> & more',
      dataset: { source: '/data/fmnist', imageSize: 28 },
    }),
    dataset: {
      datasetId: 'ds-abc',
      source: '/data/fmnist',
      format: 'idx',
      imageSize: 28,
      channels: 1,
      classNames: CLASSES,
      splits: {
        train: { count: 3000, perClass: [1000, 1000, 1000] },
        test: { count: 300, perClass: [100, 100, 100] },
      },
      labelFractions: [{ fraction: 0.1, count: 300 }],
      skipped: [{ file: 'broken<img>.png', reason: 'corrupt PNG header' }],
    },
    backend: { name: 'tensorflow', requested: 'tensorflow', provider: '@tensorflow/tfjs-node' },
    timings: [
      { stage: 'shard', startedAt: at(0), endedAt: at(40), seconds: 40 },
      { stage: 'pretrain', startedAt: at(40), endedAt: at(3000), seconds: 2960 },
      { stage: 'report', startedAt: at(3590) },
    ],
    pretrain: { epochs: 10, steps: 400, finalLoss: 4.12, imagesPerSec: 512.5, augmentationWaitMs: 1200 },
    results: {
      linear: { top1: 0.8312, top5: 0.9901 },
      knn: { top1: 0.7934, top5: 0.981, k: 20 },
      fineTune: [{ fraction: 0.1, top1: 0.7777, top5: 0.9876, labelledImages: 300 }],
      baseline: { linear: { top1: 0.6543, top5: 0.95 }, knn: { top1: 0.6011, top5: 0.93 } },
    },
  };
}

/** Fraction of pixels that are not (near) white. */
async function inkFraction(
  png: Buffer,
  region?: { left: number; top: number; width: number; height: number },
): Promise<number> {
  let img = sharp(png).removeAlpha().greyscale();
  if (region) img = img.extract(region);
  const { data } = await img.raw().toBuffer({ resolveWithObject: true });
  let ink = 0;
  for (const v of data) if (v < 200) ink++;
  return ink / data.length;
}

test('niceAxis and formatTick give round ticks', () => {
  assert.deepEqual(niceAxis(0, 1).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceAxis(0, 9, true, 8).ticks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const lr = niceAxis(0, 0.00042);
  assert.equal(lr.ticks[0], 0);
  assert.ok(lr.ticks[lr.ticks.length - 1] >= 0.00042);
  assert.equal(formatTick(20000, 5000), '20k');
  assert.equal(formatTick(0.0001, 0.0001), '1e-4');
  assert.equal(formatTick(0.25, 0.05), '0.25');
});

test('metrics chunks: append, rewrite on retry, merge sorted by time, reject bad records', async () => {
  const root = mkdtempSync(join(tmpdir(), 'report-metrics-'));
  try {
    const store = new FsBlobStore(root);
    const all = syntheticMetrics();
    const epoch1 = all.filter((r) => r.stage === 'pretrain' && r.epoch === 1);
    const epoch0 = all.filter((r) => r.stage === 'pretrain' && r.epoch === 0);
    // Written out of order, and epoch 1 twice (a retried activity): no duplicates, sorted by time.
    await appendMetrics(store, 'exp-a', metricsChunk('pretrain', 1), epoch1);
    await appendMetrics(store, 'exp-a', metricsChunk('pretrain', 0), epoch0);
    const key = await appendMetrics(store, 'exp-a', metricsChunk('pretrain', 1), epoch1);
    assert.equal(key, 'experiments/exp-a/metrics/pretrain-000000001.jsonl');
    const merged = await readMetrics(store, 'exp-a');
    assert.equal(merged.length, epoch0.length + epoch1.length);
    assert.deepEqual(merged, [...epoch0, ...epoch1]);

    const jsonlKey = await writeMetricsJsonl(store, 'exp-a');
    assert.equal(jsonlKey, 'experiments/exp-a/metrics.jsonl');
    assert.deepEqual(parseMetricsJsonl((await store.get(jsonlKey)).toString(), jsonlKey), merged);

    const bad = { ...epoch0[0], value: Number.NaN };
    await assert.rejects(
      appendMetrics(store, 'exp-a', 'pretrain-x', [bad]),
      /record 0: invalid metric record[\s\S]*value/,
    );
    await assert.rejects(appendMetrics(store, 'exp-a', '../escape', epoch0), /chunk name/);
    assert.throws(
      () =>
        parseMetricsJsonl(
          '{"time":"2025-01-01T00:00:00Z","stage":"nope","name":"loss","value":1}\n',
          'm.jsonl',
        ),
      /m\.jsonl, line 1.*stage|m\.jsonl, line 1[\s\S]*stage/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('charts render to PNGs of the expected size with visible lines and text', async () => {
  const report = parseRunReport(syntheticReport());
  const charts = await renderReportCharts(report, syntheticMetrics());
  assert.deepEqual(
    charts.map((c) => c.name),
    ['loss', 'learning-rate', 'knn', 'accuracy'],
  );
  for (const chart of charts) {
    const meta = await sharp(chart.png).metadata();
    assert.equal(meta.format, 'png', chart.name);
    assert.equal(meta.width, CHART_WIDTH * 2, chart.name);
    assert.equal(meta.height, CHART_HEIGHT * 2, chart.name);
    // Not blank: some ink overall, and the title text (top-left band) actually rendered.
    const ink = await inkFraction(chart.png);
    assert.ok(ink > 0.01 && ink < 0.5, `${chart.name}: ${ink} of the pixels are not white`);
    const titleInk = await inkFraction(chart.png, { left: 160, top: 20, width: 500, height: 50 });
    assert.ok(titleInk > 0.02, `${chart.name}: title band has ${titleInk} ink; fonts did not render`);
  }
  // The loss line itself is drawn in the plot area (the series colour is present).
  const { data, info } = await sharp(charts[0].png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let blue = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] < 60 && data[i + 2] > 150) blue++;
  assert.ok(blue > 500, `only ${blue} pixels of the loss line`);

  // Without metrics or results, there is nothing to draw.
  assert.deepEqual(await renderReportCharts(undefined, []), []);
  assert.throws(
    () => lineChartSvg({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [] }),
    /no data points/,
  );
  const one = await svgToPng(
    lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ label: 's', color: '#000', points: [{ x: 3, y: 1 }] }],
    }),
    1,
  );
  assert.equal((await sharp(one).metadata()).width, CHART_WIDTH);
});

test('report html shows the values and escapes user strings', async () => {
  const report = parseRunReport(syntheticReport());
  const charts = await renderReportCharts(report, syntheticMetrics());
  const html = renderReportHtml(report, charts);
  for (const value of [
    '83.12 %',
    '99.01 %',
    '79.34 %',
    '77.77 %',
    '65.43 %',
    '60.11 %',
    '+17.69 pp',
    '+19.23 pp',
    'Pullover',
    'corrupt PNG header',
  ]) {
    assert.ok(html.includes(value), `html lacks '${value}'`);
  }
  assert.ok(!html.includes('<script'), 'a <script> tag got through');
  assert.ok(html.includes('pretraining &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more'));
  assert.ok(html.includes('broken&lt;img&gt;.png'));
  assert.ok(html.includes(`href="${report.webUiUrl}"`));
  assert.equal(html.match(/src="data:image\/png;base64,/g)?.length, charts.length);
  assert.ok(html.includes('<details') && html.includes('&quot;learningRate&quot;'), 'config JSON is missing');
  // Only http(s) links are accepted for the web UI.
  assert.throws(() => parseRunReport({ ...syntheticReport(), webUiUrl: 'javascript:alert(1)' }), /webUiUrl/);
});

test('writeReport stores report.json, report.html, metrics.jsonl and charts in a FsBlobStore', async () => {
  const root = mkdtempSync(join(tmpdir(), 'report-write-'));
  try {
    const store = new FsBlobStore(root);
    const metrics = syntheticMetrics();
    await appendMetrics(
      store,
      'fmnist-test',
      metricsChunk('pretrain', 0),
      metrics.filter((r) => r.stage === 'pretrain'),
    );
    await appendMetrics(
      store,
      'fmnist-test',
      metricsChunk('knn', 0),
      metrics.filter((r) => r.stage === 'knn'),
    );
    const keys = await writeReport(store, 'fmnist-test', syntheticReport());
    assert.equal(keys.reportJson, 'experiments/fmnist-test/report.json');
    assert.equal(keys.reportHtml, 'experiments/fmnist-test/report.html');
    assert.equal(keys.metricsJsonl, 'experiments/fmnist-test/metrics.jsonl');
    assert.deepEqual(
      keys.charts,
      ['loss', 'learning-rate', 'knn', 'accuracy'].map((n) => `experiments/fmnist-test/charts/${n}.png`),
    );

    const saved = parseRunReport(JSON.parse((await store.get(keys.reportJson)).toString()));
    assert.deepEqual(saved, parseRunReport(syntheticReport()));
    const lines = (await store.get(keys.metricsJsonl)).toString().trim().split('\n');
    assert.equal(lines.length, metrics.length);
    assert.ok((await store.get(keys.reportHtml)).toString().includes('83.12 %'));
    for (const key of keys.charts) assert.equal((await sharp(await store.get(key)).metadata()).format, 'png');

    // Idempotent: a second call rewrites the same objects and adds none.
    const before = (await store.list('experiments/fmnist-test/')).map((s) => s.key);
    assert.deepEqual(await writeReport(store, 'fmnist-test', syntheticReport()), keys);
    assert.deepEqual(
      (await store.list('experiments/fmnist-test/')).map((s) => s.key),
      before,
    );

    await assert.rejects(
      writeReport(store, 'other', syntheticReport()),
      /of experiment 'fmnist-test', not 'other'/,
    );
    await assert.rejects(
      writeReport(store, 'fmnist-test', {
        ...syntheticReport(),
        results: { ...syntheticReport().results!, linear: { top1: 1.5, top5: 1 } },
      }),
      /results\.linear\.top1/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('TensorBoard writer produces an events file with the scalars', async () => {
  await initBackend('tensorflow');
  const dir = mkdtempSync(join(tmpdir(), 'report-tb-'));
  try {
    const records = syntheticMetrics();
    const out = await writeTensorBoard(join(dir, 'run'), records);
    assert.equal(out.scalars, records.length);
    assert.equal(out.files.length, 1);
    assert.ok(out.files[0].size > 1000, `event file has ${out.files[0].size} bytes`);
    const bytes = readFileSync(out.files[0].path);
    assert.ok(
      bytes.includes('pretrain/loss') && bytes.includes('knn/knn_top1'),
      'tags missing from the event file',
    );
    assert.equal(
      tensorBoardTag(metric('finetune', 'loss', 1, { fraction: 0.1, encoder: 'random-init' })),
      'random-init/finetune/fraction-0.1/loss',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

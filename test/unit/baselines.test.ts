/**
 * The baselines' pure pieces: raw-pixel features, the beat / behind verdict and the comparisons built
 * from a run's results, the config section (also for configs written before it existed), and how the
 * CLI table and the HTML report say whether SimCLR beat each baseline.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { baselinesOf } from '../../config/baselines';
import { PAPER_DEFAULTS } from '../../config/defaults';
import { experimentSchema } from '../../config/schema';
import { renderFrame } from '../../cli/live-view';
import { baselinesTable, resultLines } from '../../cli/results';
import { renderReportCharts } from '../../report/charts';
import { compareWithBaselines, verdict } from '../../report/comparisons';
import { renderReportHtml } from '../../report/html';
import { parseRunReport } from '../../report/report';
import { metric } from '../../report/metrics';
import { tensorBoardTag } from '../../report/tensorboard';
import { initBackend } from '../../simclr/backend';
import { knnEvaluation } from '../../simclr/evaluate/knn';
import { linearEvaluation } from '../../simclr/evaluate/linear';
import { pixelDimension, pixelFeatures } from '../../simclr/evaluate/pixels';
import type { ExperimentResults, Stage, StageTiming } from '../../contracts';
import { texts } from '../helpers/vega-svg';

before(async () => {
  await initBackend('tensorflow');
});

test('pixelFeatures: each image flattened in its own pixel order, scaled to [0, 1]', () => {
  const shape = { height: 2, width: 2, channels: 3 } as const;
  assert.equal(pixelDimension(shape), 12);
  const pixels = Uint8Array.from({ length: 24 }, (_, i) => (i * 11) % 256);
  const f = pixelFeatures(pixels, 2, shape);
  assert.equal(f.length, 24);
  for (let i = 0; i < 24; i++) assert.ok(Math.abs(f[i] - pixels[i] / 255) < 1e-7, `value ${i}`);
  assert.equal(pixelFeatures(Uint8Array.of(0, 255), 2, { height: 1, width: 1, channels: 1 })[1], 1);
  assert.equal(pixelFeatures(new Uint8Array(0), 0, shape).length, 0);
  assert.throws(() => pixelFeatures(pixels, 3, shape), /24 bytes for 3 images of 2x2x3 \(expected 36\)/);
  assert.throws(() => pixelFeatures(pixels, 1.5, shape), /count must be a non-negative integer/);
});

test('pixel features go through the encoders’ linear and kNN protocols: a brightness-coded class is found', async () => {
  // Class c: 4×4 images whose top-left quadrant is bright for c = 1 and dark for c = 0, the rest noise.
  const shape = { height: 4, width: 4, channels: 1 } as const;
  let seed = 3;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const make = (n: number) => {
    const labels = Array.from({ length: n }, (_, i) => i % 2);
    const pixels = new Uint8Array(n * 16);
    labels.forEach((y, i) => {
      for (let p = 0; p < 16; p++) {
        const quadrant = Math.floor(p / 4) < 2 && p % 4 < 2;
        pixels[i * 16 + p] = quadrant ? (y ? 200 : 40) + Math.floor(rnd() * 30) : Math.floor(rnd() * 256);
      }
    });
    return { features: pixelFeatures(pixels, n, shape), labels, dim: pixelDimension(shape) };
  };
  const train = make(200);
  const test = make(100);
  const linear = await linearEvaluation(
    train,
    test,
    { epochs: 20, batchSize: 32, learningRate: 0.1, weightDecay: 0, momentum: 0.9 },
    { seed: 1, numClasses: 2 },
  );
  assert.equal(linear.top1, 1);
  const knn = await knnEvaluation(train, test, { k: 20, temperature: 0.1 }, { numClasses: 2 });
  assert.ok(knn.top1 > 0.9, `kNN on pixels: ${knn.top1}`);
});

test('verdict: beat, behind or level by the margin of the top-1 accuracies as tables print them', () => {
  assert.deepEqual(verdict(0.815, 0.784), { marginPts: 3.1, outcome: 'beat', text: '+3.1 pts ✓ beat' });
  assert.deepEqual(verdict(0.764, 0.784), { marginPts: -2, outcome: 'behind', text: '−2.0 pts ✗ behind' });
  assert.deepEqual(verdict(0.5, 0.5), { marginPts: 0, outcome: 'level', text: '±0.0 pts = level' });
  assert.equal(verdict(0.5004, 0.5).outcome, 'level');
  assert.equal(verdict(0.5006, 0.5).outcome, 'beat');
  assert.equal(verdict(0.4994, 0.5).outcome, 'behind');
  // 51.7 % against 25.55 % (printed 25.6 %): the margin is the difference of the printed numbers.
  assert.equal(verdict(0.517, 0.2555).text, '+26.1 pts ✓ beat');
});

const results: ExperimentResults = {
  pretrained: {
    encoder: 'pretrained',
    linear: { top1: 0.784, top5: 0.991 },
    knn: { top1: 0.67, top5: 0.983, k: 200 },
  },
  baseline: {
    encoder: 'random-init',
    linear: { top1: 0.584, top5: 0.955 },
    knn: { top1: 0.433, top5: 0.903, k: 200 },
  },
  fineTune: [
    { fraction: 0.1, labelledImages: 600, top1: 0.682, top5: 0.986 },
    { fraction: 0.01, labelledImages: 60, top1: 0.517, top5: 0.949 },
  ],
  baselines: {
    pixels: {
      encoder: 'pixels',
      linear: { top1: 0.815, top5: 0.995 },
      knn: { top1: 0.718, top5: 0.97, k: 200 },
    },
    supervised: { top1: 0.829, top5: 0.996, epochs: 10, labelledImages: 6000 },
    scratchFineTune: [
      { fraction: 0.01, labelledImages: 60, top1: 0.403, top5: 0.889 },
      { fraction: 0.1, labelledImages: 600, top1: 0.62, top5: 0.979 },
    ],
  },
  reportKey: 'experiments/x/report.json',
  reportHtmlKey: 'experiments/x/report.html',
  storeLocation: 'file:///var/lib/simclr/store',
};

test('compareWithBaselines: every SimCLR result against each of its baselines, in reading order', () => {
  const c = compareWithBaselines({
    linear: results.pretrained.linear,
    knn: results.pretrained.knn,
    fineTune: results.fineTune,
    randomInit: results.baseline,
    pixels: results.baselines!.pixels,
    supervised: results.baselines!.supervised,
    scratchFineTune: results.baselines!.scratchFineTune,
  });
  assert.deepEqual(
    c.map((x) => [x.evaluation, x.baseline, x.outcome, x.upperBound]),
    [
      ['linear evaluation', 'random-init encoder', 'beat', false],
      ['linear evaluation', 'raw pixels', 'behind', false],
      ['linear evaluation', 'supervised (all labels, 10 epochs)', 'behind', true],
      ['kNN (k=200)', 'random-init encoder', 'beat', false],
      ['kNN (k=200)', 'raw pixels', 'behind', false],
      ['fine-tune 1 %', 'from scratch on the same 1 %', 'beat', false],
      ['fine-tune 10 %', 'from scratch on the same 10 %', 'beat', false],
    ],
  );
  assert.equal(c[1].text, '−3.1 pts ✗ behind');
  assert.equal(c[5].text, '+11.4 pts ✓ beat');
  // Without baselines there is nothing to compare.
  assert.deepEqual(
    compareWithBaselines({ linear: results.pretrained.linear, knn: results.pretrained.knn, fineTune: [] }),
    [],
  );
});

test('CLI: the baselines table says plainly whether SimCLR beat each baseline', () => {
  const t = baselinesTable(results)!.split('\n');
  assert.match(t[0], /^SIMCLR VS BASELINE \(TOP-1\) +SIMCLR +BASELINE +MARGIN$/);
  assert.match(t[2], /^linear evaluation vs raw pixels +78\.4 % +81\.5 % +−3\.1 pts ✗ behind$/);
  assert.match(
    t[3],
    /^linear evaluation vs supervised \(all labels, 10 epochs\) \(upper bound\) +78\.4 % +82\.9 % +−4\.5 pts ✗ behind$/,
  );
  assert.match(t[6], /^fine-tune 1 % vs from scratch on the same 1 % +51\.7 % +40\.3 % +\+11\.4 pts ✓ beat$/);
  assert.equal(t.length, 8);
  const lines = resultLines(results, {}).join('\n');
  assert.ok(lines.includes('kNN (k=200) vs raw pixels'), lines);
  // A run that predates the baselines and had the random-init one switched off prints no such table.
  assert.equal(baselinesTable({ ...results, baseline: undefined, baselines: undefined }), undefined);
});

test('config: evaluation.baselines defaults on, can be switched off, and configs without it get the defaults', () => {
  const cfg = experimentSchema.parse({ name: 't', dataset: { source: '/data' } });
  assert.deepEqual(cfg.evaluation.baselines, {
    pixels: true,
    supervised: true,
    scratchFineTune: true,
    fromScratchLearningRate: 0.4,
  });
  assert.equal(cfg.evaluation.randomInitBaseline, true);
  const off = experimentSchema.parse({
    name: 't',
    dataset: { source: '/data' },
    evaluation: { randomInitBaseline: false, baselines: { supervised: false } },
  });
  assert.deepEqual(
    [off.evaluation.randomInitBaseline, off.evaluation.baselines.pixels, off.evaluation.baselines.supervised],
    [false, true, false],
  );
  assert.throws(
    () =>
      experimentSchema.parse({
        name: 't',
        dataset: { source: '/d' },
        evaluation: { baselines: { pixel: true } },
      }),
    /pixel/,
  );
  // An input recorded before the section existed (the schema never saw it).
  const old = structuredClone(cfg);
  delete (old.evaluation as Partial<typeof old.evaluation>).baselines;
  assert.deepEqual(baselinesOf(old), PAPER_DEFAULTS.baselines);
  assert.equal(baselinesOf(off).supervised, false);
});

test('report: report.json carries the baselines and the HTML says beat / behind for each', async () => {
  const report = parseRunReport({
    experimentId: 'x',
    status: 'completed',
    startedAt: '2026-01-01T00:00:00Z',
    workflowId: 'x',
    runId: 'r',
    config: experimentSchema.parse({ name: 'x', dataset: { source: '/data' } }),
    dataset: {
      datasetId: 'd',
      source: '/data',
      format: 'idx',
      imageSize: 28,
      channels: 1,
      classNames: ['a', 'b'],
      splits: { train: { count: 10, perClass: [5, 5] }, test: { count: 4, perClass: [2, 2] } },
    },
    backend: { name: 'tensorflow' },
    timings: [],
    results: {
      linear: results.pretrained.linear,
      knn: results.pretrained.knn,
      fineTune: results.fineTune,
      baseline: { linear: results.baseline!.linear, knn: results.baseline!.knn },
      baselines: {
        pixels: { linear: results.baselines!.pixels!.linear, knn: results.baselines!.pixels!.knn },
        supervised: results.baselines!.supervised,
        scratchFineTune: results.baselines!.scratchFineTune,
      },
    },
  });
  assert.equal(report.results?.baselines?.supervised?.epochs, 10);
  const html = renderReportHtml(report, []);
  for (const s of [
    'SimCLR against the baselines',
    'raw pixels',
    '81.50 %',
    '−3.1 pts ✗ behind',
    '+11.4 pts ✓ beat',
    'supervised (all labels, 10 epochs)',
  ])
    assert.ok(html.includes(s), `html lacks '${s}'`);
  assert.ok(!html.includes('Not evaluated in this run'), 'every baseline ran');
  // The accuracy chart has a bar series per baseline; the kNN chart would get a raw-pixel level line.
  const accuracy = (await renderReportCharts(report, [])).find((c) => c.name === 'accuracy')!.svg;
  assert.deepEqual(texts(accuracy, 'legend-label'), [
    'SimCLR encoder',
    'random-init encoder',
    'raw pixels',
    'supervised from scratch',
  ]);
  for (const value of ['82.9', '40.3'])
    assert.ok(texts(accuracy, 'mark').includes(value), `accuracy chart lacks the bar label '${value}'`);
  const without = renderReportHtml(
    parseRunReport({ ...report, results: { ...report.results!, baselines: undefined } }),
    [],
  );
  assert.ok(without.includes('Not evaluated in this run: raw pixels (evaluation.baselines.pixels)'));
  assert.ok(!without.includes('vs raw pixels') && !without.includes('✗ behind'));
});

test('metrics: the baselines’ records are tagged and kept apart in TensorBoard', () => {
  assert.equal(tensorBoardTag(metric('linear', 'top1', 0.8, { encoder: 'pixels' })), 'pixels/linear/top1');
  assert.equal(
    tensorBoardTag(metric('supervised', 'loss', 0.5, { encoder: 'random-init', epoch: 1 })),
    'random-init/supervised/loss',
  );
  assert.equal(tensorBoardTag(metric('linear', 'top1', 0.8, { encoder: 'pretrained' })), 'linear/top1');
});

test('live view: the baselines stage is listed while ahead, and left out when a run went past it', () => {
  const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s)).toISOString();
  const done = (stage: Stage, s: number) => ({ stage, startedAt: at(s), endedAt: at(s + 1), seconds: 1 });
  const frame = (stages: StageTiming[], stage: Stage) =>
    renderFrame({
      experimentId: 'x',
      runId: 'r',
      status: 'RUNNING',
      closed: false,
      startTime: at(0),
      elapsedSeconds: 9,
      activities: [],
      noWorker: false,
      stage,
      progress: { experimentId: 'x', stage, epoch: 1, epochs: 1, stages, augmentationWaitMs: 0 },
    }).join('\n');
  const before = [done('validate', 0), done('shard', 1), done('pretrain', 2), done('finetune', 3)];
  assert.match(
    frame([...before, { stage: 'evaluate', startedAt: at(4) }], 'evaluate'),
    /· baselines\n {2}· report/,
  );
  const skipped = frame([...before, done('evaluate', 4), { stage: 'report', startedAt: at(5) }], 'report');
  assert.ok(!skipped.includes('baselines'), skipped);
  assert.match(frame([...before, done('evaluate', 4), done('baselines', 5)], 'baselines'), /✓ baselines/);
});

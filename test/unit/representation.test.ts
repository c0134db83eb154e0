/**
 * What the report shows of the representation (issue 10): the seeded class-balanced test sample, the
 * nearest training neighbours, the linear classifier's confusion matrix, the seeded UMAP map, the
 * TensorBoard projector files, and the report's Representation section; then the real chain on real
 * Fashion-MNIST shards: evaluateRepresentation stores the samples, writeExperimentReport draws the maps
 * and writes report.html and the projector files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { experimentSchema, type ExperimentConfig } from '../../config/schema';
import { activityStore } from '../../activities/context';
import { evaluateRepresentation } from '../../activities/evaluate';
import { writeExperimentReport } from '../../activities/report';
import type { DatasetManifest, RepresentationEval, WriteReportInput } from '../../contracts';
import { embeddingMap } from '../../report/embedding-map';
import { writeProjector, PROJECTOR_CONFIG } from '../../report/projector';
import { renderRepresentationSection } from '../../report/representation-html';
import { readRepresentationSample } from '../../report/representation-sample';
import { spriteSheet } from '../../report/thumbnails';
import { initBackend } from '../../simclr/backend';
import { classBalancedSample } from '../../simclr/datasets/splits';
import { nearestNeighbours } from '../../simclr/evaluate/knn';
import { linearEvaluation } from '../../simclr/evaluate/linear';
import { mulberry32 } from '../../simclr/evaluate/prng';
import { sampleRepresentation } from '../../simclr/evaluate/representation-sample';
import type { FeatureSet } from '../../simclr/evaluate/features';
import { reportKeys, representationKeys } from '../../storage/layout';
import { shardedDatasetWithCheckpoint } from '../helpers/activity-fixture';

/** `classes` Gaussian clusters in `dim` dimensions, `perClass` points each, labels in class order. */
function clusters(perClass: number, classes: number, dim: number, seed: number, spread = 0.3): FeatureSet {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, normal));
  const features = new Float32Array(perClass * classes * dim);
  const labels: number[] = [];
  for (let i = 0; i < perClass * classes; i++) {
    const c = i % classes;
    labels.push(c);
    for (let j = 0; j < dim; j++) features[i * dim + j] = centres[c][j] + spread * normal();
  }
  return { features, labels, dim };
}

/** One draw of clusters split into train (the first `trainCount`) and test: they share the centres. */
function trainTest(all: FeatureSet, trainCount: number): [FeatureSet, FeatureSet] {
  const { dim } = all;
  const part = (from: number, to: number): FeatureSet => ({
    features: all.features.slice(from * dim, to * dim),
    labels: Array.from(all.labels).slice(from, to),
    dim,
  });
  return [part(0, trainCount), part(trainCount, all.labels.length)];
}

before(async () => {
  await initBackend('tensorflow');
});

describe('the representation sample', () => {
  it('classBalancedSample is seeded, balanced, sorted, and a smaller sample is part of a larger one', () => {
    const labels = Array.from({ length: 1000 }, (_, i) => (i < 100 ? 0 : 1 + (i % 4))); // class 0 has 100
    const a = classBalancedSample(labels, 300, 7);
    assert.deepEqual(a, classBalancedSample(labels, 300, 7), 'same seed, same sample');
    assert.notDeepEqual(a, classBalancedSample(labels, 300, 8), 'another seed, another sample');
    assert.equal(a.length, 300);
    assert.deepEqual(
      [...a],
      [...a].sort((x, y) => x - y),
    );
    const perClass = [0, 0, 0, 0, 0];
    for (const i of a) perClass[labels[i]]++;
    assert.deepEqual(perClass, [60, 60, 60, 60, 60]);
    const five = classBalancedSample(labels, 5, 7);
    assert.deepEqual(new Set([...five].map((i) => labels[i])), new Set([0, 1, 2, 3, 4]), 'one per class');
    assert.ok(
      [...five].every((i) => a.includes(i)),
      'the queries are points of the map',
    );
    assert.equal(classBalancedSample(labels, 5000, 7).length, 1000, 'capped by the split');
  });

  it('nearestNeighbours are the brute-force cosine neighbours, most similar first', async () => {
    const train = clusters(40, 3, 8, 1, 1);
    const test = clusters(5, 3, 8, 2, 1);
    const n = await nearestNeighbours(train, test.features, 7, { trainChunkSize: 17, queryBatchSize: 4 });
    assert.equal(n.k, 7);
    const unit = (v: Float32Array) => {
      const norm = Math.hypot(...v);
      return Array.from(v, (x) => x / norm);
    };
    const rows = (f: Float32Array, i: number) => unit(f.subarray(i * 8, (i + 1) * 8));
    for (let q = 0; q < 15; q++) {
      const sims = Array.from({ length: 120 }, (_, t) => {
        const a = rows(test.features, q);
        const b = rows(train.features, t);
        return { t, s: a.reduce((acc, v, j) => acc + v * b[j], 0) };
      }).sort((x, y) => y.s - x.s);
      const got = Array.from(n.similarities.subarray(q * 7, (q + 1) * 7));
      for (let j = 1; j < 7; j++) assert.ok(got[j] <= got[j - 1], `query ${q}: sorted by similarity`);
      got.forEach((s, j) =>
        assert.ok(Math.abs(s - sims[j].s) < 1e-5, `query ${q} rank ${j}: ${s} vs ${sims[j].s}`),
      );
      assert.deepEqual(
        [...n.indices.subarray(q * 7, (q + 1) * 7)],
        sims.slice(0, 7).map((x) => x.t),
      );
    }
  });

  it("the linear classifier's confusion matrix counts every test image once", async () => {
    const [train, test] = trainTest(clusters(85, 4, 6, 3, 1.2), 240);
    const r = await linearEvaluation(
      train,
      test,
      { epochs: 20, batchSize: 32, learningRate: 0.1, weightDecay: 0, momentum: 0.9 },
      { seed: 1 },
    );
    assert.equal(r.confusion.length, 4);
    assert.equal(
      r.confusion.flat().reduce((a, b) => a + b, 0),
      100,
      'sums to the test count',
    );
    r.confusion.forEach((row) =>
      assert.equal(
        row.reduce((a, b) => a + b, 0),
        25,
        'rows: the true classes',
      ),
    );
    const diagonal = r.confusion.reduce((a, row, i) => a + row[i], 0);
    assert.equal(diagonal, Math.round(r.top1 * 100), 'the diagonal is top-1 (no ties here)');
  });

  it('sampleRepresentation: class-balanced queries, ordered by class, with k neighbours from the training set', async () => {
    const [train, test] = trainTest(clusters(50, 5, 8, 4), 150);
    const s = await sampleRepresentation(train, test, { points: 60, queries: 10, k: 4, seed: 3 });
    assert.equal(s.indices.length, 60);
    assert.equal(s.embeddings.length, 60 * 8);
    assert.deepEqual(
      [...s.embeddings.subarray(8, 16)],
      [...test.features.subarray(s.indices[1] * 8, s.indices[1] * 8 + 8)],
    );
    assert.deepEqual(
      s.queries.map((q) => q.label),
      [0, 0, 1, 1, 2, 2, 3, 3, 4, 4],
      'classes take turns: two queries each for 10 queries of 5 classes, ordered by class',
    );
    for (const q of s.queries) {
      assert.equal(q.neighbours.length, 4);
      // Tight clusters: every neighbour is of the query's class.
      assert.ok(q.neighbours.every((n) => n.label === q.label && n.label === train.labels[n.index]));
    }
  });
});

describe('the embedding map', () => {
  it('is seeded: the same input and seed draw the same coordinates; it keeps clusters apart', async () => {
    const set = clusters(40, 4, 16, 6);
    const a = await embeddingMap(set.features, 16, { seed: 11, stream: 0 });
    const b = await embeddingMap(set.features, 16, { seed: 11, stream: 0 });
    assert.equal(a.length, 320);
    assert.deepEqual(a, b, 'same input, same seed: same map');
    const c = await embeddingMap(set.features, 16, { seed: 11, stream: 1 });
    assert.notDeepEqual(a, c, 'another stream draws another map');
    // Class structure survives: each point's nearest other point in 2-D is of its class.
    let agree = 0;
    for (let i = 0; i < 160; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < 160; j++) {
        const d = (a[2 * i] - a[2 * j]) ** 2 + (a[2 * i + 1] - a[2 * j + 1]) ** 2;
        if (j !== i && d < bestD) [best, bestD] = [j, d];
      }
      if (set.labels[best] === set.labels[i]) agree++;
    }
    assert.ok(agree >= 150, `${agree} of 160 points have a nearest map neighbour of their class`);
  });

  it('refuses too few points, naming the count', async () => {
    await assert.rejects(
      embeddingMap(new Float32Array(8), 2, { seed: 1, stream: 0 }),
      /4 points are too few/,
    );
  });
});

describe('TensorBoard projector files', () => {
  it('tensors, metadata and sprite agree; the config points at them with the tile size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simclr-projector-'));
    try {
      const rows = 23;
      const shape = { height: 12, width: 12, channels: 1 as const };
      const pixels = Uint8Array.from({ length: rows * 144 }, (_, i) => (i * 37) & 0xff);
      const tensor = (seed: number) => Float32Array.from({ length: rows * 5 }, mulberry32(seed));
      const out = await writeProjector(dir, {
        tensors: [
          { name: 'pretrained', embeddings: tensor(1), dim: 5 },
          { name: 'random-init', embeddings: tensor(2), dim: 5 },
        ],
        indices: Array.from({ length: rows }, (_, i) => 3 * i),
        labels: Array.from({ length: rows }, (_, i) => i % 3),
        classNames: ['T-shirt/top', 'Trou\tser', 'Pullover'],
        pixels,
        shape,
      });
      assert.deepEqual(out.files, [
        PROJECTOR_CONFIG,
        'projector/pretrained.tsv',
        'projector/random-init.tsv',
        'projector/metadata.tsv',
        'projector/sprite.png',
      ]);
      const lines = async (f: string) => (await readFile(join(dir, f), 'utf8')).trimEnd().split('\n');
      const meta = await lines('projector/metadata.tsv');
      assert.equal(meta[0], 'class\tlabel\ttest_index', 'multi-column metadata has a header');
      assert.equal(meta.length - 1, rows, 'one metadata line per tensor row');
      assert.equal(meta[2], 'Trou ser\t1\t3', 'a tab in a class name cannot split the row');
      for (const name of ['pretrained', 'random-init']) {
        const t = await lines(`projector/${name}.tsv`);
        assert.equal(t.length, rows);
        assert.ok(
          t.every(
            (l) => l.split('\t').length === 5 && l.split('\t').every((v) => Number.isFinite(Number(v))),
          ),
        );
      }
      const first = (await lines('projector/pretrained.tsv'))[0].split('\t').map(Number);
      first.forEach((v, j) => assert.ok(Math.abs(v - tensor(1)[j]) < 1e-6));
      const sprite = await sharp(join(dir, 'projector/sprite.png')).metadata();
      assert.equal(sprite.channels, 1, 'grey images, a grey sprite');
      assert.equal(out.columns, 5, '⌈√23⌉ thumbnails a row');
      assert.equal(out.tile, 12);
      assert.deepEqual([sprite.width, sprite.height], [60, 60], 'columns × tile, square');
      const tile = await sharp(join(dir, 'projector/sprite.png'))
        .extract({ left: 12, top: 12, width: 12, height: 12 })
        .extractChannel(0)
        .raw()
        .toBuffer();
      assert.deepEqual([...tile], [...pixels.subarray(6 * 144, 7 * 144)], 'image 6 at row 1, column 1');
      const config = await readFile(join(dir, PROJECTOR_CONFIG), 'utf8');
      assert.equal(config.match(/embeddings \{/g)?.length, 2);
      for (const needle of [
        'tensor_path: "projector/random-init.tsv"',
        'metadata_path: "projector/metadata.tsv"',
        'image_path: "projector/sprite.png"',
        `tensor_shape: ${rows}`,
        'single_image_dim: 12',
      ])
        assert.ok(config.includes(needle), `${needle} in\n${config}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('shrinks the thumbnails so the sprite stays within 8192 px', async () => {
    // 1,849 images: 43 a row, 8192 / 43 = 190 px tiles for 200 px images.
    const count = 1849;
    const shape = { height: 200, width: 200, channels: 1 as const };
    const sheet = await spriteSheet(new Uint8Array(count * 200 * 200).fill(90), count, shape);
    assert.equal(sheet.columns, 43);
    assert.equal(sheet.tile, 190);
    const meta = await sharp(sheet.png).metadata();
    assert.deepEqual([meta.width, meta.height], [43 * 190, 43 * 190]);
  });
});

describe('the report shows the representation (real Fashion-MNIST shards, real tfjs)', () => {
  const EXPERIMENT = 'representation-report';
  let root: string;
  let config: ExperimentConfig;
  let dataset: DatasetManifest;
  let checkpoint: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'simclr-representation-'));
    process.env.SIMCLR_STORE = `file://${root}`;
    config = experimentSchema.parse({
      name: EXPERIMENT,
      seed: 3,
      backend: 'tensorflow',
      dataset: {
        source: '/usr/share/datasets/fashion-mnist',
        imageSize: 12,
        shardSize: 64,
        maxTrainImages: 160,
        maxTestImages: 100,
      },
      model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { layers: 2, outputDim: 16 } },
      pretrain: { epochs: 1, batchSize: 16, warmupEpochs: 0 },
      evaluation: { linear: { epochs: 5 }, knn: { k: 10 } },
    });
    ({ dataset, checkpoint } = await shardedDatasetWithCheckpoint(EXPERIMENT, config));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('evaluateRepresentation stores the sample; the report draws maps, neighbours, confusion and projector files', async () => {
    const ref = { experimentId: EXPERIMENT, config, dataset };
    const pretrained = await evaluateRepresentation({ ...ref, encoder: 'pretrained', checkpoint });
    const baseline = await evaluateRepresentation({ ...ref, encoder: 'random-init' });
    const pixels = await evaluateRepresentation({ ...ref, encoder: 'pixels' });
    const keys = representationKeys(EXPERIMENT);
    assert.equal(pretrained.representationKey, keys.sample('pretrained'));
    assert.equal(baseline.representationKey, keys.sample('random-init'));
    assert.equal(pixels.representationKey, undefined, 'the pixels have no encoder to show');

    const store = await activityStore();
    const sample = await readRepresentationSample(store, pretrained.representationKey!);
    assert.equal(sample.indices.length, 100, 'every test image (fewer than the cap)');
    assert.equal(
      sample.confusion.flat().reduce((a, b) => a + b, 0),
      dataset.splits.test.count,
    );
    assert.equal(sample.queries.length, 10);
    assert.ok(sample.queries.every((q) => q.neighbours.length === 8));
    const random = await readRepresentationSample(store, baseline.representationKey!);
    assert.deepEqual(random.indices, sample.indices, 'the same images for both encoders');

    const input: WriteReportInput = {
      experimentId: EXPERIMENT,
      workflowId: EXPERIMENT,
      runId: 'run-1',
      config,
      dataset,
      stages: [{ stage: 'report', startedAt: new Date().toISOString() }],
      pretrain: [],
      augmentationWaitMs: 0,
      pretrained: pretrained as RepresentationEval,
      baseline,
      fineTune: [],
    };
    const out = await writeExperimentReport(input);
    const html = (await store.get(out.reportHtmlKey)).toString('utf8');
    for (const needle of [
      '<h2>Representation</h2>',
      'id="chart-embedding-maps"',
      'SimCLR encoder (trained)',
      'Random-init encoder (untrained)',
      '<h3>Nearest training images</h3>',
      'class="nn-grid"',
      '<h3>Confusion matrix</h3>',
      'id="chart-confusion-matrix"',
      'class="chart-spec"',
    ])
      assert.ok(html.includes(needle), `report.html has ${needle}`);
    for (const name of dataset.classNames.slice(0, 3))
      assert.ok(html.includes(name), `legend/grid name ${name}`);
    assert.ok(
      (html.match(/<img src="data:image\/png;base64,/g) ?? []).length >= 10 * 9,
      'query and neighbour images inline',
    );
    assert.ok(!/src="https?:/.test(html), 'nothing fetched from the network');
    const maps = html.slice(
      html.indexOf('id="chart-embedding-maps"'),
      html.indexOf('</figure>', html.indexOf('id="chart-embedding-maps"')),
    );
    assert.ok(maps.includes('<image '), 'the static map is a picture, not a path per point');
    for (const name of ['embedding-maps', 'confusion-matrix'])
      assert.ok(await store.exists(`experiments/${EXPERIMENT}/charts/${name}.png`), `charts/${name}.png`);

    const map = JSON.parse((await store.get(keys.map('pretrained'))).toString('utf8')) as { xy: number[] };
    assert.equal(map.xy.length, 200);
    // Drawn again from the same sample and seed: the same map.
    await writeExperimentReport(input);
    const again = JSON.parse((await store.get(keys.map('pretrained'))).toString('utf8')) as { xy: number[] };
    assert.deepEqual(again.xy, map.xy);

    const tb = reportKeys(EXPERIMENT).tensorboard;
    const config_ = (await store.get(`${tb}projector_config.pbtxt`)).toString('utf8');
    assert.match(config_, /tensor_name: "pretrained"[\s\S]*tensor_name: "random-init"/);
    const meta = (await store.get(`${tb}projector/metadata.tsv`)).toString('utf8').trimEnd().split('\n');
    const rows = (await store.get(`${tb}projector/pretrained.tsv`)).toString('utf8').trimEnd().split('\n');
    assert.equal(meta.length - 1, rows.length);
    assert.equal(rows.length, 100);
    const sprite = await sharp(await store.get(`${tb}projector/sprite.png`)).metadata();
    assert.deepEqual([sprite.width, sprite.height], [10 * 12, 10 * 12]);
  });

  it('renderRepresentationSection marks a neighbour of another class', async () => {
    const sample = await readRepresentationSample(
      await activityStore(),
      representationKeys(EXPERIMENT).sample('random-init'),
    );
    const { html } = await renderRepresentationSection({
      classNames: dataset.classNames,
      encoders: [{ encoder: 'random-init', sample }],
      images: { test: new Map(), train: new Map() },
    });
    const misses = sample.queries.flatMap((q) => q.neighbours.filter((n) => n.label !== q.label)).length;
    assert.equal((html.match(/class="nn-cell miss"/g) ?? []).length, misses);
    assert.equal((html.match(/✗ /g) ?? []).length, misses);
  });
});

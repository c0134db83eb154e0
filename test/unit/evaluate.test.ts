import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tf, initBackend } from '../../simclr/backend';
import { evaluationSchema, fineTuneSchema } from '../../config/schema';
import type { ImageShape } from '../../simclr/images';
import { extractFeatures, type FeatureSet } from '../../simclr/evaluate/features';
import { linearEvaluation, topKAccuracy } from '../../simclr/evaluate/linear';
import { knnEvaluation, knnVotes } from '../../simclr/evaluate/knn';
import { cropFlip, drawCropFlip } from '../../simclr/evaluate/crop-flip';
import { fineTune, type LabelledImages } from '../../simclr/evaluate/finetune';
import { mulberry32 } from '../../simclr/evaluate/prng';

const defaults = evaluationSchema.parse({});

/** Standard normal draws from a seeded uniform generator (Box–Muller). */
function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Runs `fn` and checks that it leaves no tensor behind. */
async function noLeak<T>(fn: () => Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return out;
}

/**
 * A linearly separable problem: label = argmax of x·W* for a random W*, points near a boundary dropped;
 * split into a training set of `count` and a test set of `testCount` from the same W*.
 */
function separable(
  count: number,
  testCount: number,
  dim: number,
  classes: number,
  seed: number,
): [FeatureSet, FeatureSet] {
  const random = mulberry32(seed);
  const normal = gaussian(random);
  const wStar = Array.from({ length: dim * classes }, normal);
  const features: number[] = [];
  const labels: number[] = [];
  while (labels.length < count + testCount) {
    const x = Array.from({ length: dim }, normal);
    const scores = Array.from({ length: classes }, (_, c) =>
      x.reduce((s, v, j) => s + v * wStar[j * classes + c], 0),
    );
    const sorted = [...scores].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] < 0.5) continue; // keep a margin so the classes are cleanly separable
    features.push(...x);
    labels.push(scores.indexOf(sorted[0]));
  }
  return [
    { features: Float32Array.from(features.slice(0, count * dim)), labels: labels.slice(0, count), dim },
    { features: Float32Array.from(features.slice(count * dim)), labels: labels.slice(count), dim },
  ];
}

/** Gaussian blobs: class c centred at 5·e_c (plus noise σ = 1 in every dimension). */
function clusters(count: number, dim: number, classes: number, seed: number): FeatureSet {
  const normal = gaussian(mulberry32(seed));
  const features = new Float32Array(count * dim);
  const labels = Array.from({ length: count }, (_, i) => i % classes);
  labels.forEach((c, i) => {
    for (let j = 0; j < dim; j++) features[i * dim + j] = normal() + (j === c ? 5 : 0);
  });
  return { features, labels, dim };
}

/** Reads an IDX file (gz) as its dimensions and raw bytes (images: uint8 pixels; labels: uint8 classes). */
function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(path));
  const rank = buf[3];
  assert.equal(buf[2], 0x08, `${path}: expected unsigned byte data`);
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return {
    dims,
    data: new Uint8Array(
      buf.buffer,
      buf.byteOffset + 4 + 4 * rank,
      dims.reduce((a, b) => a * b, 1),
    ),
  };
}

describe('evaluation', () => {
  before(async () => {
    await initBackend('tensorflow');
  });

  describe('topKAccuracy', () => {
    it('counts labels among the k highest scores, ties against', () => {
      const scores = tf.tensor2d([
        [0.1, 0.7, 0.2], // label 2: second
        [0.5, 0.3, 0.2], // label 0: first
        [0.2, 0.2, 0.6], // label 1: tied with class 0 for second
      ]);
      const labels = [2, 0, 1];
      assert.equal(topKAccuracy(scores, labels, 1), 1 / 3);
      assert.equal(topKAccuracy(scores, labels, 2), 2 / 3);
      assert.equal(topKAccuracy(scores, labels, 3), 1);
      assert.equal(topKAccuracy(scores, labels, 10), 1, 'k above the number of classes is clamped');
      const labelTensor = tf.tensor1d([1, 0, 2], 'int32');
      assert.equal(topKAccuracy(scores, labelTensor, 1), 1);
      assert.equal(
        topKAccuracy(tf.tensor2d([[0, 0, 0]]), [1], 2),
        0,
        'a constant row is never right by tie order',
      );
      assert.equal(topKAccuracy(tf.tensor2d([[NaN, 1, 0]]), [0], 3), 0, 'NaN scores are wrong');
      assert.throws(() => topKAccuracy(scores, [0, 3, 1], 1), /label 3 of row 1/);
      assert.throws(() => topKAccuracy(scores, [0, 1], 1), /2 labels for 3 rows/);
      assert.throws(() => topKAccuracy(scores, labels, 0), /k must be a positive integer/);
      tf.dispose([scores, labelTensor]);
    });
  });

  describe('extractFeatures', () => {
    it('runs the encoder in inference mode, in batches, in order, without leaks', async () => {
      const shape: ImageShape = { height: 2, width: 2, channels: 1 };
      const count = 7;
      const pixels = Uint8Array.from({ length: count * 4 }, (_, i) => (i * 37) % 256);
      // Flatten + batch norm at its initial moving statistics (mean 0, variance 1): in inference mode the
      // output is x / √(1 + ε); in training mode it would be normalised by the batch's own statistics.
      const encoder = tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [2, 2, 1] }),
          tf.layers.batchNormalization({ epsilon: 1e-3 }),
        ],
      });
      const progress: number[] = [];
      const features = await noLeak(() =>
        extractFeatures(encoder, pixels, count, shape, 3, (done, total) => progress.push(done, total)),
      );
      assert.deepEqual(progress, [3, 7, 6, 7, 7, 7]);
      assert.equal(features.length, count * 4);
      features.forEach((v, i) =>
        assert.ok(Math.abs(v - pixels[i] / 255 / Math.sqrt(1 + 1e-3)) < 1e-5, `feature ${i}: ${v}`),
      );
      await assert.rejects(
        () => extractFeatures(encoder, pixels.subarray(1), count, shape, 3),
        /27 bytes for 7 images of 2x2x1/,
      );
      encoder.dispose();
    });
  });

  describe('linearEvaluation', () => {
    const config = { ...defaults.linear, epochs: 30, batchSize: 64, learningRate: 0.4 };

    it('reaches ~100 % on a linearly separable problem', async () => {
      const [train, test] = separable(800, 400, 10, 4, 1);
      const r = await noLeak(() => linearEvaluation(train, test, config, { seed: 0 }));
      assert.ok(r.trainTop1 > 0.98, `train top-1 ${r.trainTop1}`);
      assert.ok(r.top1 > 0.97, `test top-1 ${r.top1}`);
      assert.equal(r.top5, 1, 'only 4 classes: top-5 is always right');
      assert.equal(r.lossCurve.length, 30);
      assert.ok(r.lossCurve[29] < r.lossCurve[0] / 3, `loss ${r.lossCurve[0]} → ${r.lossCurve[29]}`);
      assert.equal(r.steps, 30 * Math.ceil(800 / 64));
      assert.equal(r.peakLearningRate, (0.4 * 64) / 256);
    });

    it('stays at chance on random labels', async () => {
      const random = mulberry32(5);
      const make = (n: number): FeatureSet => ({
        features: Float32Array.from({ length: n * 20 }, gaussian(random)),
        labels: Array.from({ length: n }, () => Math.floor(random() * 5)),
        dim: 20,
      });
      const r = await linearEvaluation(make(500), make(1000), { ...config, epochs: 10 }, { seed: 0 });
      assert.ok(r.top1 > 0.12 && r.top1 < 0.28, `test top-1 ${r.top1} (chance 0.2)`);
      assert.ok(r.trainTop1 > r.top1, 'fits the training labels better than the test labels');
    });

    it('is deterministic given the seed; the seed and weight decay matter', async () => {
      const [train, test] = separable(200, 100, 6, 3, 3);
      const small = { ...config, epochs: 3, batchSize: 32 };
      const a = await linearEvaluation(train, test, small, { seed: 7 });
      const b = await linearEvaluation(train, test, small, { seed: 7 });
      const c = await linearEvaluation(train, test, small, { seed: 8 });
      const d = await linearEvaluation(train, test, { ...small, weightDecay: 0.1 }, { seed: 7 });
      assert.deepEqual(a, b);
      assert.notDeepEqual(a.lossCurve, c.lossCurve);
      assert.ok(d.lossCurve[2] > a.lossCurve[2], `weight decay ${d.lossCurve[2]} vs none ${a.lossCurve[2]}`);
    });

    it('names bad input', async () => {
      const [train] = separable(10, 0, 3, 2, 1);
      await assert.rejects(
        () =>
          linearEvaluation(train, { ...train, dim: 5, features: new Float32Array(50) }, config, { seed: 0 }),
        /dimension 3, test features 5/,
      );
      await assert.rejects(
        () =>
          linearEvaluation({ ...train, labels: Array.from(train.labels).fill(-1) }, train, config, {
            seed: 0,
          }),
        /train labels: label -1/,
      );
      await assert.rejects(
        () =>
          linearEvaluation(train, { ...train, features: train.features.subarray(1) }, config, { seed: 0 }),
        /test features: 29 values/,
      );
    });
  });

  describe('knnEvaluation', () => {
    // Unit directions in 2-D: one class-1 point straight ahead, two class-0 points at ±0.3 rad.
    const angles = [0, 0.3, -0.3];
    const train: FeatureSet = {
      features: Float32Array.from(angles.flatMap((a) => [2 * Math.cos(a), 2 * Math.sin(a)])), // scale must not matter
      labels: [1, 0, 0],
      dim: 2,
    };
    const query = Float32Array.from([5, 0]);

    it('weights each neighbour by exp(sim / τ), by hand', async () => {
      for (const temperature of [0.1, 0.01, 1]) {
        const votes = await knnVotes(train, query, { k: 3, temperature });
        // Cosine similarities 1, cos 0.3, cos 0.3; votes up to the factor exp(−max sim / τ) = exp(−1/τ).
        const w = (s: number) => Math.exp((s - 1) / temperature);
        const expected = [2 * w(Math.cos(0.3)), w(1)];
        votes.forEach((v, c) =>
          assert.ok(
            Math.abs(v - expected[c]) < 1e-5 * Math.max(1, expected[c]),
            `τ=${temperature} class ${c}: ${v} vs ${expected[c]}`,
          ),
        );
      }
      const test: FeatureSet = { features: query, labels: [0], dim: 2 };
      // τ = 0.1: 2·exp(−0.447) = 1.28 > 1, the two class-0 neighbours win; τ = 0.01: the nearest wins.
      assert.equal((await knnEvaluation(train, test, { k: 3, temperature: 0.1 })).top1, 1);
      assert.equal((await knnEvaluation(train, test, { k: 3, temperature: 0.01 })).top1, 0);
      assert.equal((await knnEvaluation(train, test, { k: 1, temperature: 0.1 })).top1, 0);
      const clamped = await knnEvaluation(train, test, { k: 200, temperature: 0.1 });
      assert.deepEqual([clamped.k, clamped.requestedK, clamped.kClamped, clamped.top1], [3, 200, true, 1]);
    });

    it('gives the same votes whatever the chunking', async () => {
      const train = clusters(300, 8, 5, 11);
      const test = clusters(40, 8, 5, 12);
      const whole = await noLeak(() => knnVotes(train, test.features, { k: 50, temperature: 0.1 }));
      const chunked = await noLeak(() =>
        knnVotes(
          train,
          test.features,
          { k: 50, temperature: 0.1 },
          { queryBatchSize: 7, trainChunkSize: 13 },
        ),
      );
      assert.equal(whole.length, 40 * 5);
      whole.forEach((v, i) => assert.ok(Math.abs(v - chunked[i]) < 1e-4, `vote ${i}: ${v} vs ${chunked[i]}`));
    });

    it('separates Gaussian clusters', async () => {
      const train = clusters(1000, 16, 10, 21);
      const test = clusters(300, 16, 10, 22);
      const progress: number[] = [];
      const r = await noLeak(() =>
        knnEvaluation(train, test, defaults.knn, {
          queryBatchSize: 128,
          trainChunkSize: 300,
          onProgress: (d) => progress.push(d),
        }),
      );
      assert.deepEqual(progress, [128, 256, 300]);
      assert.equal(r.k, 200);
      assert.equal(r.kClamped, false);
      assert.ok(r.top1 > 0.9, `top-1 ${r.top1}`);
      assert.ok(r.top5 > 0.99, `top-5 ${r.top5}`);
    });
  });

  describe('cropFlip', () => {
    it('crops the zero-padded image at the drawn offset and mirrors it, per image', () => {
      const images = tf.tensor4d([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], [2, 2, 3, 1]);
      const out = cropFlip(images, 1, [
        { offsetY: 0, offsetX: 0, flip: false },
        { offsetY: 1, offsetX: 1, flip: true },
      ]);
      assert.deepEqual(out.shape, [2, 2, 3, 1]);
      assert.deepEqual(Array.from(out.dataSync()), [0, 0, 0, 0, 1, 2, 30, 20, 10, 60, 50, 40]);
      const shifted = cropFlip(images, 1, [
        { offsetY: 2, offsetX: 2, flip: false },
        { offsetY: 1, offsetX: 1, flip: false },
      ]);
      assert.deepEqual(Array.from(shifted.dataSync()), [5, 6, 0, 0, 0, 0, 10, 20, 30, 40, 50, 60]);
      assert.throws(
        () =>
          cropFlip(images, 1, [
            { offsetY: 3, offsetX: 0, flip: false },
            { offsetY: 0, offsetX: 0, flip: false },
          ]),
        /outside \[0, 2\]/,
      );
      const draws = drawCropFlip(1000, 2, mulberry32(1));
      assert.ok(draws.every((d) => d.offsetX >= 0 && d.offsetX <= 4 && d.offsetY >= 0 && d.offsetY <= 4));
      assert.equal(new Set(draws.map((d) => d.offsetX)).size, 5);
      const flips = draws.filter((d) => d.flip).length;
      assert.ok(flips > 430 && flips < 570, `${flips} flips of 1000`);
      tf.dispose([images, out, shifted]);
    });
  });

  describe('fineTune', () => {
    // 8×8 grey images of four patterns that a horizontal flip leaves unchanged (the fine-tuning
    // augmentation flips): top half bright, bottom half bright, left+right borders bright, centre bright.
    const shape: ImageShape = { height: 8, width: 8, channels: 1 };
    const bright = [
      (y: number) => y < 4,
      (y: number) => y >= 4,
      (_y: number, x: number) => x < 2 || x >= 6,
      (_y: number, x: number) => x >= 3 && x < 5,
    ];
    function patterns(count: number, seed: number): LabelledImages {
      const random = mulberry32(seed);
      const labels = Array.from({ length: count }, (_, i) => i % 4);
      const pixels = new Uint8Array(count * 64);
      labels.forEach((c, i) => {
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 8; x++)
            pixels[i * 64 + y * 8 + x] = (bright[c](y, x) ? 170 : 60) + Math.floor(random() * 80);
        }
      });
      return { pixels, labels, count, shape };
    }
    const makeEncoder = () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [8, 8, 1],
            filters: 4,
            kernelSize: 3,
            padding: 'same',
            useBias: false,
            kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          }),
          tf.layers.batchNormalization({ momentum: 0.9 }), // the reference's batch-norm decay (tfjs' default 0.99 lags on 32 steps)
          tf.layers.activation({ activation: 'relu' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 16, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
    const snapshot = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

    it('improves over the untrained classifier and leaves the pretrained models untouched', async () => {
      const encoder = makeEncoder();
      const head = tf.sequential({
        layers: [
          tf.layers.dense({
            inputShape: [16],
            units: 8,
            activation: 'relu',
            kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          }),
        ],
      });
      const train = patterns(240, 1);
      const test = patterns(200, 2);
      const trainIndices = Array.from({ length: 120 }, (_, i) => i); // the first half, 30 of each class
      const config = fineTuneSchema.parse({ epochs: 8, batchSize: 32, learningRate: 0.8, fromHeadLayer: 1 });
      const encoderBefore = snapshot(encoder);
      const headBefore = snapshot(head);
      const losses: number[] = [];
      let steps = 0;
      const r = await noLeak(() =>
        fineTune({
          encoder,
          headStages: [head],
          config,
          train,
          trainIndices,
          test,
          seed: 0,
          measureInitialAccuracy: true,
          onEpoch: (_e, loss) => losses.push(loss),
          onStep: () => steps++,
        }),
      );
      assert.ok(
        r.initialTop1 !== undefined && r.initialTop1 < 0.5,
        `untrained top-1 ${r.initialTop1} (chance 0.25)`,
      );
      assert.ok(r.top1 > 0.9, `fine-tuned top-1 ${r.top1}`);
      assert.equal(r.top5, 1);
      assert.deepEqual(losses, r.lossCurve);
      assert.ok(r.lossCurve[7] < r.lossCurve[0] / 2, `loss ${r.lossCurve[0]} → ${r.lossCurve[7]}`);
      assert.deepEqual([r.numLabelled, r.fromHeadLayer, r.steps, steps], [120, 1, 32, 32]);
      assert.deepEqual(snapshot(encoder), encoderBefore, 'the pretrained encoder is not modified');
      assert.deepEqual(snapshot(head), headBefore, 'the pretrained head is not modified');
      encoder.dispose();
      head.dispose();
    });

    it('names bad configuration and input', async () => {
      const encoder = makeEncoder();
      const train = patterns(8, 1);
      const base = { encoder, train, test: train, trainIndices: [0, 1], seed: 0 };
      await noLeak(async () => {
        await assert.rejects(
          () => fineTune({ ...base, config: fineTuneSchema.parse({ fromHeadLayer: 2 }) }),
          /fromHeadLayer is 2 but 0 projection-head stages/,
        );
        await assert.rejects(
          () => fineTune({ ...base, config: fineTuneSchema.parse({}), trainIndices: [0, 8] }),
          /train index 8 is outside \[0, 8\)/,
        );
        await assert.rejects(
          () =>
            fineTune({
              ...base,
              config: fineTuneSchema.parse({}),
              test: { ...train, shape: { height: 4, width: 16, channels: 1 } },
            }),
          /train images are 8x8x1 but test images are 4x16x1/,
        );
      });
      encoder.dispose();
    });
  });

  describe('on Fashion-MNIST raw pixels', () => {
    it('linear evaluation and kNN both beat 70 % top-1', async () => {
      const dir = '/usr/share/datasets/fashion-mnist';
      const trainImages = readIdx(`${dir}/train-images-idx3-ubyte.gz`);
      const trainLabels = readIdx(`${dir}/train-labels-idx1-ubyte.gz`);
      const testImages = readIdx(`${dir}/t10k-images-idx3-ubyte.gz`);
      const testLabels = readIdx(`${dir}/t10k-labels-idx1-ubyte.gz`);
      assert.deepEqual(trainImages.dims, [60000, 28, 28]);
      const shape: ImageShape = { height: 28, width: 28, channels: 1 };
      const encoder = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] })] }); // raw pixels as features
      const features = async (images: Uint8Array, labels: Uint8Array, n: number): Promise<FeatureSet> => ({
        features: await extractFeatures(encoder, images.subarray(0, n * 784), n, shape, 512),
        labels: labels.subarray(0, n),
        dim: 784,
      });
      const train = await features(trainImages.data, trainLabels.data, 5000);
      const test = await features(testImages.data, testLabels.data, 1000);
      encoder.dispose();
      const linear = await noLeak(() =>
        linearEvaluation(train, test, { ...defaults.linear, epochs: 30 }, { seed: 0 }),
      );
      const knn = await noLeak(() => knnEvaluation(train, test, defaults.knn));
      // 200 neighbours of 500 per class, weighted almost evenly (uncentred pixels all have cosine 0.7–0.95),
      // blur the vote; a narrower neighbourhood shows the features themselves are ~80 % (1-NN ≈ 0.82).
      const knn20 = await knnEvaluation(train, test, { ...defaults.knn, k: 20 });
      console.log(
        `fashion-mnist raw pixels (5000 train / 1000 test): linear top-1 ${linear.top1.toFixed(3)} top-5 ${linear.top5.toFixed(3)} ` +
          `(train ${linear.trainTop1.toFixed(3)}, loss ${linear.lossCurve[0].toFixed(3)} → ${linear.lossCurve.at(-1)?.toFixed(3)}); ` +
          `kNN k=${knn.k} τ=${knn.temperature} top-1 ${knn.top1.toFixed(3)} top-5 ${knn.top5.toFixed(3)}; kNN k=20 top-1 ${knn20.top1.toFixed(3)}`,
      );
      assert.ok(linear.top1 > 0.7, `linear top-1 ${linear.top1}`);
      assert.ok(knn.top1 > 0.7, `kNN top-1 ${knn.top1}`);
      assert.ok(knn20.top1 > 0.75, `kNN (k = 20) top-1 ${knn20.top1}`);
    });
  });
});

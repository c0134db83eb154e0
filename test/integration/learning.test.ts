/**
 * Does pretraining learn? A short SimCLR run on real Fashion-MNIST images (the Debian package's IDX
 * files) must give the encoder features that a linear classifier separates clearly better than the
 * features of the same encoder at its random initialisation — the paper's linear-evaluation protocol
 * ([SimCLR] Sec. 2.3) at toy scale.
 *
 * Scale (well under a minute on the 2-core dev machine: ~25 s alone, ~45 s with other work on the
 * cores): 4096 class-balanced training images, resnet-mini at 28×28×1, batch 256 (16 steps an epoch,
 * 6 epochs), the paper's augmentations at ≤ 32 px (crop,
 * flip, colour jitter 0.5, no blur) and τ = 0.5, LARS with the square-root learning-rate rule of
 * App. B.1 (better at small batches). Linear evaluation (config defaults) on 4096 train / 2000 test images.
 * The epochs run the pipeline's loop: Pretrainer.runEpoch over a ViewBatchSource of view shards.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { initBackend } from '../../simclr/backend';
import { readIdxDataset } from '../../simclr/datasets/idx';
import { classBalancedLimit } from '../../simclr/datasets/splits';
import { augmentBatch, type AugmentParams } from '../../simclr/augment';
import { createPretrainer, pretrainerOptionsFor, type Pretrainer } from '../../simclr/train';
import { epochOrder, ViewBatchSource } from '../../simclr/view-batches';
import { extractFeatures } from '../../simclr/evaluate/features';
import { linearEvaluation } from '../../simclr/evaluate/linear';
import { experimentSchema } from '../../config/schema';
import { resolveExperiment } from '../../config/resolve';

const DIR = '/usr/share/datasets/fashion-mnist';
const TRAIN_IMAGES = 4096;
const TEST_IMAGES = 2000;
const BATCH = 256;
const EPOCHS = 6;
/** Required gain in linear top-1 (measured here: 56.4 % → 74.4 %, so 10 points leaves a wide margin). */
const MIN_GAIN = 0.1;
/** Images per shard of views (the last shard is smaller: 4096 = 3 × 1200 + 496). */
const SHARD_IMAGES = 1200;

interface Subset {
  pixels: Uint8Array;
  labels: Int32Array;
  count: number;
}

async function loadSubset(split: 'train' | 't10k', max: number): Promise<Subset> {
  const all = await readIdxDataset(
    `${DIR}/${split}-images-idx3-ubyte.gz`,
    `${DIR}/${split}-labels-idx1-ubyte.gz`,
  );
  const keep = classBalancedLimit(all.count, max, all.labels);
  const size = 28 * 28;
  const pixels = new Uint8Array(keep.length * size);
  keep.forEach((src, i) => pixels.set(all.pixels.subarray(src * size, (src + 1) * size), i * size));
  return { pixels, labels: Int32Array.from(keep, (i) => all.labels[i]), count: keep.length };
}

/**
 * One epoch's batch source, as the pipeline builds it: the training images in shards of SHARD_IMAGES,
 * each shard's two views per image computed when the source fetches it (the precompute's augmentBatch,
 * views keyed by (seed, epoch, dataset index)), batches in the seeded epoch order (simclr/view-batches.ts).
 */
function epochBatches(data: Subset, params: AugmentParams, seed: number, epoch: number): ViewBatchSource {
  const size = 28 * 28;
  const shardCounts = Array.from({ length: Math.ceil(data.count / SHARD_IMAGES) }, (_, s) =>
    Math.min(SHARD_IMAGES, data.count - s * SHARD_IMAGES),
  );
  return new ViewBatchSource({
    order: epochOrder(shardCounts, seed, epoch),
    batchSize: BATCH,
    imageShape: { height: 28, width: 28, channels: 1 },
    shardCounts,
    fetchShard: async (shard) => {
      const first = shard * SHARD_IMAGES;
      const pixels = data.pixels.subarray(first * size, (first + shardCounts[shard]) * size);
      const { view1, view2 } = augmentBatch(
        pixels,
        { height: 28, width: 28, channels: 1 },
        params,
        seed,
        epoch,
        first,
      );
      const both = new Uint8Array(2 * view1.length);
      both.set(view1);
      both.set(view2, view1.length);
      return both;
    },
  });
}

async function linearTop1(p: Pretrainer, train: Subset, test: Subset, seed: number): Promise<number> {
  const shape = { height: 28, width: 28, channels: 1 } as const;
  const dim = p.encoder.outputs[0].shape[1] as number;
  const trainFeatures = await extractFeatures(p.encoder, train.pixels, train.count, shape, 512);
  const testFeatures = await extractFeatures(p.encoder, test.pixels, test.count, shape, 512);
  const linear = experimentSchema.parse({ name: 'x', dataset: { source: DIR } }).evaluation.linear;
  const r = await linearEvaluation(
    { features: trainFeatures, labels: train.labels, dim },
    { features: testFeatures, labels: test.labels, dim },
    linear,
    { seed, numClasses: 10 },
  );
  return r.top1;
}

const haveData = existsSync(`${DIR}/train-images-idx3-ubyte.gz`);

describe(
  'pretraining learns (Fashion-MNIST)',
  { skip: haveData ? false : `no Fashion-MNIST under ${DIR}` },
  () => {
    before(async () => {
      await initBackend('tensorflow');
    });

    it(`beats the random-init encoder on linear evaluation by ≥ ${100 * MIN_GAIN} points after ${EPOCHS} epochs`, async (t) => {
      const [train, test] = await Promise.all([
        loadSubset('train', TRAIN_IMAGES),
        loadSubset('t10k', TEST_IMAGES),
      ]);
      const cfg = experimentSchema.parse({
        name: 'learning-test',
        seed: 11,
        dataset: { source: DIR },
        model: { encoder: 'resnet-mini' },
        pretrain: { batchSize: BATCH, epochs: EPOCHS, warmupEpochs: 1, learningRateScaling: 'sqrt' },
      });
      const r = resolveExperiment(cfg, { imageSize: 28, channels: 1 });
      const { lookaheadEpochs: _, ...params } = r.augmentation;
      const stepsPerEpoch = Math.floor(train.count / BATCH);
      const options = pretrainerOptionsFor(r, stepsPerEpoch);

      const baseline = createPretrainer(options);
      const randomTop1 = await linearTop1(baseline, train, test, r.seed);
      baseline.dispose();

      const p = createPretrainer(options);
      try {
        const losses: number[] = [];
        for (let epoch = 0; epoch < EPOCHS; epoch++) {
          const source = epochBatches(train, params, r.seed, epoch);
          const summary = await p.runEpoch(source, { metricsEvery: 0 });
          assert.equal(summary.steps, stepsPerEpoch);
          losses.push(summary.meanLoss);
          t.diagnostic(
            `epoch ${epoch}: loss ${summary.meanLoss.toFixed(3)} acc ${summary.meanContrastiveAcc.toFixed(3)} ${summary.seconds.toFixed(1)} s (views ${summary.time.viewsSeconds.toFixed(1)} s, steps ${summary.time.stepsSeconds.toFixed(1)} s)`,
          );
        }
        assert.equal(p.globalStep, EPOCHS * stepsPerEpoch);
        assert.ok(
          losses[losses.length - 1] < losses[0] - 0.3,
          `the NT-Xent loss falls (${losses.map((l) => l.toFixed(2)).join(' → ')})`,
        );
        const pretrainedTop1 = await linearTop1(p, train, test, r.seed);
        t.diagnostic(
          `linear top-1: random init ${(100 * randomTop1).toFixed(1)} %, pretrained ${(100 * pretrainedTop1).toFixed(1)} %`,
        );
        assert.ok(
          pretrainedTop1 >= randomTop1 + MIN_GAIN,
          `linear top-1: pretrained ${(100 * pretrainedTop1).toFixed(1)} % vs random init ${(100 * randomTop1).toFixed(1)} %`,
        );
      } finally {
        p.dispose();
      }
    });
  },
);

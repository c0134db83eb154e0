/**
 * The baseline activities on real Fashion-MNIST shards in a real filesystem store (tiny images and
 * model, so it runs in seconds): the raw-pixel evaluation is the encoders' linear + kNN protocol on
 * pixelFeatures, training from scratch starts from the seed's random init (not from the checkpoint) at
 * the from-scratch learning rate, and the supervised bound trains on every label for pretrain.epochs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { experimentSchema, type ExperimentConfig } from '../../config/schema';
import { resolveExperiment } from '../../config/resolve';
import { activityStore } from '../../activities/context';
import { gatherImages } from '../../activities/split-reads';
import {
  evaluateRepresentation,
  fineTune as fineTuneActivity,
  supervisedBaseline,
} from '../../activities/evaluate';
import { stepsPerEpoch } from '../../activities/pretrain';
import { newPretrainer } from '../../activities/training-state';
import { readMetrics } from '../../report/metrics';
import { initBackend } from '../../simclr/backend';
import { labelFractionSubset } from '../../simclr/datasets/splits';
import { fineTune } from '../../simclr/evaluate/finetune';
import { knnEvaluation } from '../../simclr/evaluate/knn';
import { linearEvaluation } from '../../simclr/evaluate/linear';
import { pixelDimension, pixelFeatures } from '../../simclr/evaluate/pixels';
import type { DatasetManifest } from '../../contracts';
import { shardedDatasetWithCheckpoint } from '../helpers/activity-fixture';

const EXPERIMENT = 'baselines-activity';
const FRACTION = 0.25;

let root: string;
let config: ExperimentConfig;
let dataset: DatasetManifest;
let checkpoint: string;

before(async () => {
  await initBackend('tensorflow');
  root = await mkdtemp(join(tmpdir(), 'simclr-baselines-'));
  process.env.SIMCLR_STORE = `file://${root}`;
  config = experimentSchema.parse({
    name: EXPERIMENT,
    seed: 5,
    backend: 'tensorflow',
    dataset: {
      source: '/usr/share/datasets/fashion-mnist',
      imageSize: 12,
      shardSize: 128,
      maxTrainImages: 160,
      maxTestImages: 100,
    },
    model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { layers: 2, outputDim: 16 } },
    pretrain: { epochs: 2, batchSize: 16, warmupEpochs: 0 },
    fineTune: { labelFractions: [FRACTION], epochs: 3, batchSize: 10, learningRate: 0.05 },
    evaluation: { linear: { epochs: 5 }, knn: { k: 10 }, baselines: { fromScratchLearningRate: 0.3 } },
  });
  // A "pretrained" checkpoint: a few steps move the weights off the seed's random init.
  ({ dataset, checkpoint } = await shardedDatasetWithCheckpoint(EXPERIMENT, config));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const ref = () => ({ experimentId: EXPERIMENT, config, dataset });
const shape = () => ({ height: dataset.imageSize, width: dataset.imageSize, channels: dataset.channels });

/** The loss curve of fine-tuning by hand from the seed's random init at `learningRate`. */
async function fromRandomInitByHand(learningRate: number, indices: 'fraction' | 'all', epochs: number) {
  const store = await activityStore();
  const resolved = resolveExperiment(config, { imageSize: dataset.imageSize, channels: dataset.channels });
  const state = newPretrainer(resolved, shape(), stepsPerEpoch(config, dataset));
  try {
    const train = await gatherImages(store, dataset, 'train');
    const test = await gatherImages(store, dataset, 'test');
    const r = await fineTune({
      encoder: state.pretrainer.encoder,
      config: { ...config.fineTune, learningRate, epochs, fromHeadLayer: 0 },
      train: { ...train, shape: shape() },
      trainIndices:
        indices === 'all'
          ? Int32Array.from(train.labels, (_, i) => i)
          : labelFractionSubset(train.labels, FRACTION, config.seed),
      test: { ...test, shape: shape() },
      seed: config.seed,
      numClasses: dataset.classNames.length,
    });
    return r.lossCurve;
  } finally {
    state.pretrainer.dispose();
  }
}

describe('baseline activities', () => {
  it('evaluateRepresentation of the raw pixels is the linear and kNN protocol on pixelFeatures', async () => {
    const r = await evaluateRepresentation({ ...ref(), encoder: 'pixels' });
    assert.equal(r.encoder, 'pixels');
    const store = await activityStore();
    const train = await gatherImages(store, dataset, 'train');
    const test = await gatherImages(store, dataset, 'test');
    const dim = pixelDimension(shape());
    const trainSet = {
      features: pixelFeatures(train.pixels, train.count, shape()),
      labels: train.labels,
      dim,
    };
    const testSet = { features: pixelFeatures(test.pixels, test.count, shape()), labels: test.labels, dim };
    const linear = await linearEvaluation(trainSet, testSet, config.evaluation.linear, {
      seed: config.seed,
      numClasses: 10,
    });
    const knn = await knnEvaluation(trainSet, testSet, config.evaluation.knn, { numClasses: 10 });
    assert.deepEqual(r.linear, { top1: linear.top1, top5: linear.top5 });
    assert.deepEqual(r.knn, { top1: knn.top1, top5: knn.top5, k: 10 });
    assert.ok(r.linear.top1 > 0.3, `raw-pixel linear top-1 ${r.linear.top1} (chance 0.1)`);
    const tagged = (await readMetrics(store, EXPERIMENT)).filter((m) => m.encoder === 'pixels');
    assert.deepEqual([...new Set(tagged.map((m) => m.stage))].sort(), ['knn', 'linear']);
  });

  it('fineTune with encoder random-init trains from the seed’s random init at the from-scratch learning rate', async () => {
    const r = await fineTuneActivity({ ...ref(), encoder: 'random-init', fraction: FRACTION });
    assert.equal(r.labelledImages, 40);
    const recorded = (await readMetrics(await activityStore(), EXPERIMENT))
      .filter((m) => m.stage === 'finetune' && m.encoder === 'random-init' && m.name === 'loss')
      .sort((a, b) => (a.epoch ?? 0) - (b.epoch ?? 0))
      .map((m) => m.value);
    assert.deepEqual(recorded, await fromRandomInitByHand(0.3, 'fraction', 3));
    // Control: the same call from the checkpoint is a different run (and is recorded apart).
    await fineTuneActivity({ ...ref(), checkpoint, fraction: FRACTION });
    const pretrained = (await readMetrics(await activityStore(), EXPERIMENT))
      .filter((m) => m.stage === 'finetune' && m.encoder === undefined && m.name === 'loss')
      .map((m) => m.value);
    assert.equal(pretrained.length, 3);
    assert.notDeepEqual(pretrained, recorded);
  });

  it('supervisedBaseline trains on every label for pretrain.epochs and learns', async () => {
    const r = await supervisedBaseline(ref());
    assert.equal(r.epochs, 2);
    assert.equal(r.labelledImages, 160);
    const recorded = (await readMetrics(await activityStore(), EXPERIMENT))
      .filter((m) => m.stage === 'supervised' && m.name === 'loss')
      .sort((a, b) => (a.epoch ?? 0) - (b.epoch ?? 0))
      .map((m) => m.value);
    assert.deepEqual(recorded, await fromRandomInitByHand(0.3, 'all', 2));
    assert.ok(recorded[1] < recorded[0], `the loss falls: ${recorded.join(', ')}`);
  });

  it('evaluateRepresentation stops at the next epoch boundary once cancelled, saying where', async () => {
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const beats: { stage?: string; epoch?: number }[] = [];
    env.on('heartbeat', (d: { stage?: string; epoch?: number }) => {
      beats.push(d);
      if (d?.stage === 'linear' && d.epoch === 0) env.cancel();
    });
    await assert.rejects(
      env.run(evaluateRepresentation, { ...ref(), encoder: 'pixels' as const }),
      (err: unknown) => {
        assert.ok(err instanceof CancelledFailure, String(err));
        assert.deepEqual(
          [err.details[0]].map((d) => {
            const { stage, epoch, stopped } = d as { stage: string; epoch: number; stopped: boolean };
            return { stage, epoch, stopped };
          }),
          [{ stage: 'linear', epoch: 1, stopped: true }],
          'stopped after the epoch that saw the cancel, not after all five',
        );
        return true;
      },
    );
    assert.deepEqual(
      beats.filter((b) => b.stage === 'linear').map((b) => b.epoch),
      [0],
    );
  });

  it('a pretrained encoder without a checkpoint is refused, naming what is missing', async () => {
    await assert.rejects(
      evaluateRepresentation({ ...ref(), encoder: 'pretrained' }),
      /encoder 'pretrained' needs a checkpoint/,
    );
    await assert.rejects(
      fineTuneActivity({ ...ref(), fraction: FRACTION } as Parameters<typeof fineTuneActivity>[0]),
      /encoder 'pretrained' needs a checkpoint/,
    );
  });
});

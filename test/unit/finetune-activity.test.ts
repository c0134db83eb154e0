/**
 * The fineTune activity with `fineTune.fromHeadLayer` 1 ([SimCLRv2]: fine-tune from the first head
 * layer) on real Fashion-MNIST shards in a real filesystem store: it must put a copy of the restored
 * checkpoint's first projection-head stage between encoder and classifier. Checked against the same
 * fine-tuning run by hand (simclr/evaluate/finetune.ts with the restored head's stages), with a control
 * run from the encoder output that shows the comparison can fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimentSchema, type ExperimentConfig } from '../../config/schema';
import { resolveExperiment } from '../../config/resolve';
import { activityStore } from '../../activities/context';
import { gatherImages } from '../../activities/split-reads';
import { fineTune as fineTuneActivity } from '../../activities/evaluate';
import { stepsPerEpoch } from '../../activities/pretrain';
import { loadPretrainer } from '../../activities/training-state';
import { readMetrics } from '../../report/metrics';
import { initBackend } from '../../simclr/backend';
import { labelFractionSubset } from '../../simclr/datasets/splits';
import { fineTune } from '../../simclr/evaluate/finetune';
import type { DatasetManifest } from '../../contracts';
import { shardedDatasetWithCheckpoint } from '../helpers/activity-fixture';

const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const EXPERIMENT = 'ft-head-layer';
const FRACTION = 0.25;

let root: string;
let config: ExperimentConfig;
let dataset: DatasetManifest;
let checkpoint: string;

before(async () => {
  await initBackend('tensorflow');
  root = await mkdtemp(join(tmpdir(), 'simclr-ft-activity-'));
  process.env.SIMCLR_STORE = `file://${root}`;
  config = experimentSchema.parse({
    name: EXPERIMENT,
    seed: 4,
    backend: 'tensorflow',
    dataset: {
      source: FASHION_MNIST,
      imageSize: 12,
      // Several shards per split: the activity reads the labelled subset and scores the test split shard by shard.
      shardSize: 32,
      maxTrainImages: 160,
      maxTestImages: 100,
    },
    model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { layers: 2, outputDim: 16 } },
    pretrain: { epochs: 2, batchSize: 16, warmupEpochs: 0 },
    fineTune: { labelFractions: [FRACTION], epochs: 3, batchSize: 10, learningRate: 0.4, fromHeadLayer: 1 },
  });
  // A pretrained checkpoint: a few steps move the head's weights and batch-norm statistics off their start.
  ({ dataset, checkpoint } = await shardedDatasetWithCheckpoint(EXPERIMENT, config));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The same fine-tuning by hand on the restored checkpoint, from head layer `fromHeadLayer`. */
async function byHand(fromHeadLayer: number): Promise<{ lossCurve: number[]; top1: number; top5: number }> {
  const store = await activityStore();
  const resolved = resolveExperiment(config, { imageSize: dataset.imageSize, channels: dataset.channels });
  const shape = { height: dataset.imageSize, width: dataset.imageSize, channels: dataset.channels };
  const state = await loadPretrainer(store, checkpoint, resolved, shape, stepsPerEpoch(config, dataset));
  const stages = state.pretrainer.head.headStages();
  try {
    const train = await gatherImages(store, dataset, 'train');
    const test = await gatherImages(store, dataset, 'test');
    const r = await fineTune({
      encoder: state.pretrainer.encoder,
      headStages: stages,
      config: { ...config.fineTune, fromHeadLayer },
      train: { ...train, shape },
      trainIndices: labelFractionSubset(train.labels, FRACTION, config.seed),
      test: { ...test, shape },
      seed: config.seed,
      numClasses: dataset.classNames.length,
    });
    return r;
  } finally {
    for (const s of stages) s.dispose();
    state.pretrainer.dispose();
  }
}

describe('fineTune activity with fineTune.fromHeadLayer 1', () => {
  it('fine-tunes the encoder plus the restored first head stage under a new classifier', async () => {
    const result = await fineTuneActivity({
      experimentId: EXPERIMENT,
      config,
      dataset,
      checkpoint,
      fraction: FRACTION,
    });
    assert.equal(result.fraction, FRACTION);
    assert.equal(result.labelledImages, 40); // a quarter of 16 images in each of 10 classes
    assert.ok(
      result.top1 >= 0 && result.top1 <= 1 && result.top5 >= result.top1,
      `top-1 ${result.top1}, top-5 ${result.top5}`,
    );
    const losses = (await readMetrics(await activityStore(), EXPERIMENT))
      .filter((m) => m.stage === 'finetune' && m.name === 'loss')
      .sort((a, b) => (a.epoch ?? 0) - (b.epoch ?? 0))
      .map((m) => m.value);
    assert.equal(losses.length, 3);
    const fromLayer1 = await byHand(1);
    const fromEncoder = await byHand(0);
    assert.deepEqual(
      losses,
      fromLayer1.lossCurve,
      'the activity fine-tunes from head layer 1 of the restored checkpoint',
    );
    assert.deepEqual(
      { top1: result.top1, top5: result.top5 },
      { top1: fromLayer1.top1, top5: fromLayer1.top5 },
      'scored shard by shard, the accuracies of the whole test split',
    );
    assert.notDeepEqual(
      fromEncoder.lossCurve,
      fromLayer1.lossCurve,
      'control: fine-tuning from the encoder output gives other losses',
    );
  });
});

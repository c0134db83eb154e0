/**
 * The real workflows at ImageNet size, for test/integration/history-scale.test.ts: a synthetic
 * 1,281,167-image dataset (1,000 classes, 2,048 images per shard: 626 train and 25 test shards) and
 * activities that return at once what the real ones would return for it, with the same shapes and
 * sizes (the manifest with every shard key, the shard results with their per-class counts). Only the
 * history is under test: the activities are stubbed here and nowhere else.
 */
import { Worker } from '@temporalio/worker';
import { temporal as proto } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseExperiment } from '../../config/load';
import { getPreset } from '../../config/presets';
import type { ExperimentConfig } from '../../config/schema';
import {
  CPU_QUEUE,
  GPU_QUEUE,
  type CpuActivities,
  type DatasetManifest,
  type DatasetPlan,
  type DatasetRef,
  type GpuActivities,
  type PretrainEpochResult,
  type ShardRange,
  type Split,
} from '../../contracts';
import { experiment } from '../../workflows/experiment';

const History = proto.api.history.v1.History;

/** ImageNet-1k (ILSVRC-2012): train and validation images, classes. */
export const IMAGENET = { train: 1_281_167, test: 50_000, classes: 1000, shardSize: 2048 };
// A dataset id is a 16-hex-digit fingerprint (config/fingerprint.ts).
const DATASET_ID = '3f9c0a7e12b45d68';
const shards = (n: number) => Math.ceil(n / IMAGENET.shardSize);
const shardKey = (split: Split, i: number) =>
  `datasets/${DATASET_ID}/${split}/shard-${String(i).padStart(5, '0')}.bin`;
const imagesIn = (split: Split, i: number) =>
  Math.min(IMAGENET.shardSize, IMAGENET[split] - i * IMAGENET.shardSize);
const inRange = (split: Split, r: ShardRange) => {
  let n = 0;
  for (let i = r.from; i < r.to; i++) n += imagesIn(split, i);
  return n;
};

/** The paper's ImageNet setup (preset imagenet-like: ResNet-50, batch 4096, 100 epochs) at 2,048 images per shard. */
export function imagenetConfig(): ExperimentConfig {
  const preset = getPreset('imagenet-like');
  return parseExperiment(
    {
      ...preset,
      name: 'imagenet-scale',
      dataset: { ...preset.dataset, source: '/data/imagenet', shardSize: IMAGENET.shardSize },
    },
    'imagenet-scale',
  );
}

const classNames = Array.from(
  { length: IMAGENET.classes },
  (_, c) => `n${String(1440764 + c * 97).padStart(8, '0')}`,
);
const plan: DatasetPlan = {
  datasetId: DATASET_ID,
  format: 'folder',
  imageSize: 224,
  channels: 3,
  labelled: true,
  classNames,
  shardSize: IMAGENET.shardSize,
  splits: {
    train: { count: IMAGENET.train, shards: shards(IMAGENET.train) },
    test: { count: IMAGENET.test, shards: shards(IMAGENET.test) },
  },
  committed: false,
};
const perClass = (n: number) =>
  Array.from(
    { length: IMAGENET.classes },
    (_, c) => Math.floor(n / IMAGENET.classes) + (c < n % IMAGENET.classes ? 1 : 0),
  );
const manifest: DatasetManifest = {
  datasetId: DATASET_ID,
  source: '/data/imagenet',
  format: 'folder',
  imageSize: 224,
  channels: 3,
  classNames,
  shardSize: IMAGENET.shardSize,
  splits: Object.fromEntries(
    (['train', 'test'] as const).map((split) => [
      split,
      {
        count: IMAGENET[split],
        perClass: perClass(IMAGENET[split]),
        shards: Array.from({ length: shards(IMAGENET[split]) }, (_, i) => ({
          key: shardKey(split, i),
          count: imagesIn(split, i),
        })),
      },
    ]),
  ) as DatasetManifest['splits'],
  skipped: [],
  createdAt: '2026-11-29T00:00:00.000Z',
};
const ref: DatasetRef = {
  datasetId: DATASET_ID,
  manifestKey: `datasets/${DATASET_ID}/MANIFEST.json`,
  splits: plan.splits,
  skipped: 0,
};

/** What the stubs were asked to do, to check that the bounded fan-out still covers every shard. */
export interface Calls {
  /** Epoch → shards whose views were asked for (each once). */
  precomputed: Map<number, number[]>;
  sharded: Record<Split, number[]>;
}

const STEPS = Math.floor(IMAGENET.train / 4096);
const evaluation = { top1: 0.69, top5: 0.89 };

function stubs(calls: Calls, committed: boolean): CpuActivities & GpuActivities {
  const views = (epoch: number, from: number, to: number) => {
    const list = calls.precomputed.get(epoch) ?? [];
    for (let s = from; s < to; s++) list.push(s);
    calls.precomputed.set(epoch, list);
  };
  const unused = (name: string) => () =>
    Promise.reject(new Error(`${name} is not part of an experiment run`));
  return {
    inspectDataset: async () => (committed ? { ...plan, committed: true, ref } : plan),
    shardDatasetRange: async ({ split, shards: r }) => {
      for (let s = r.from; s < r.to; s++) calls.sharded[split].push(s);
      return { split, shards: r, images: inRange(split, r), skipped: 0 };
    },
    commitDatasetShards: async () => ref,
    precomputeAugmentationRange: async ({ epoch, shards: r }) => {
      views(epoch, r.from, r.to);
      return { epoch, shards: r, images: inRange('train', r), reused: 0, ms: 1000 };
    },
    shardDataset: async ({ split, shard }) => {
      calls.sharded[split].push(shard);
      return {
        split,
        shard,
        key: shardKey(split, shard),
        count: imagesIn(split, shard),
        perClass: perClass(imagesIn(split, shard)),
        skipped: [],
      };
    },
    commitDataset: async () => manifest,
    readDatasetManifest: async () => manifest,
    precomputeAugmentations: async ({ epoch, shard }) => {
      views(epoch, shard, shard + 1);
      return {
        key: `augment/${DATASET_ID}/a/epoch-${epoch}/shard-${shard}.bin`,
        count: imagesIn('train', shard),
        skipped: false,
        ms: 1000,
      };
    },
    deleteAugmentations: async () => 2 * shards(IMAGENET.train),
    preparePretraining: async () => ({
      augmentationId: `${'a'.repeat(16)}.imagenet-scale`,
      stepsPerEpoch: STEPS,
      startEpoch: 0,
    }),
    pretrainEpoch: async ({ epoch }): Promise<PretrainEpochResult> => ({
      epoch,
      globalStep: (epoch + 1) * STEPS,
      meanLoss: 7.5 - epoch * 0.01,
      meanContrastiveAcc: 0.5,
      checkpoint: `experiments/imagenet-scale/checkpoints/step-${String((epoch + 1) * STEPS).padStart(8, '0')}`,
      seconds: 1234.5,
      imagesPerSec: 1037.8,
      knnTop1: epoch % 10 === 9 ? 0.41 : undefined,
      backend: 'tensorflow-gpu',
      time: {
        setupSeconds: 12.3,
        viewsSeconds: 4.5,
        stepsSeconds: 1200.1,
        checkpointSeconds: 10.2,
        knnSeconds: 0,
        metricsSeconds: 0.4,
      },
    }),
    evaluateRepresentation: async ({ encoder }) => ({
      encoder: encoder ?? 'pretrained',
      linear: evaluation,
      knn: { ...evaluation, k: 200 },
    }),
    fineTune: async ({ fraction }) => ({
      ...evaluation,
      fraction,
      labelledImages: Math.round(fraction * IMAGENET.train),
    }),
    supervisedBaseline: async () => ({ ...evaluation, epochs: 100, labelledImages: IMAGENET.train }),
    writeExperimentReport: async ({ experimentId }) => ({
      reportKey: `experiments/${experimentId}/report.json`,
      reportHtmlKey: `experiments/${experimentId}/report.html`,
      storeLocation: 'file:///data/simclr',
    }),
    findCompletedExperiments: unused('findCompletedExperiments'),
    writeSweepReport: unused('writeSweepReport'),
    planRetrain: unused('planRetrain'),
    promoteEncoder: unused('promoteEncoder'),
    recordScheduledRun: unused('recordScheduledRun'),
    planEmbedding: unused('planEmbedding'),
    writeEmbeddingsFile: unused('writeEmbeddingsFile'),
    embedShard: unused('embedShard'),
  };
}

/** One workflow run's history: its size as stored (protobuf bytes) and its events. */
export interface RunHistory {
  workflowId: string;
  runId: string;
  bytes: number;
  events: number;
  /** The largest input of each activity type it scheduled (bytes of payload data). */
  largestInputs: Record<string, number>;
}

function measure(workflowId: string, runId: string, history: proto.api.history.v1.IHistory): RunHistory {
  const largest: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (!scheduled) continue;
    const type = scheduled.activityType?.name ?? '?';
    const bytes = (scheduled.input?.payloads ?? []).reduce((a, p) => a + (p.data?.length ?? 0), 0);
    largest[type] = Math.max(largest[type] ?? 0, bytes);
  }
  return {
    workflowId,
    runId,
    bytes: History.encode(history).finish().length,
    events: history.events?.length ?? 0,
    largestInputs: largest,
  };
}

/**
 * Runs the experiment workflow (and so its pretrain-loop child and every continue-as-new run of it)
 * on the server with workers whose activities are the stubs, and measures every run's history.
 */
export async function runAtImageNetScale(
  temporal: TestWorkflowEnvironment,
  opts: { experimentId: string; config: ExperimentConfig; committed: boolean },
): Promise<{ runs: RunHistory[]; calls: Calls }> {
  const calls: Calls = { precomputed: new Map(), sharded: { train: [], test: [] } };
  const activities = stubs(calls, opts.committed);
  const workers = await Promise.all([
    Worker.create({
      connection: temporal.nativeConnection,
      taskQueue: CPU_QUEUE,
      workflowsPath: require.resolve('../../workflows'),
      interceptors: { workflowModules: [require.resolve('../../workflows/store-header')] },
      activities,
      maxConcurrentActivityTaskExecutions: 64,
    }),
    Worker.create({ connection: temporal.nativeConnection, taskQueue: GPU_QUEUE, activities }),
  ]);
  const client = temporal.client;
  const runs: RunHistory[] = [];
  const running = workers.map((w) => w.run());
  try {
    const handle = await client.workflow.start(experiment, {
      taskQueue: CPU_QUEUE,
      workflowId: opts.experimentId,
      args: [{ experimentId: opts.experimentId, config: opts.config }],
    });
    await handle.result();
    const top = await handle.fetchHistory();
    runs.push(measure(opts.experimentId, handle.firstExecutionRunId, top));
    // The pretrain loop: its first run, then every run it continued as new into.
    const child = top.events?.find((e) => e.childWorkflowExecutionStartedEventAttributes)
      ?.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    let runId = child?.runId ?? undefined;
    while (child?.workflowId && runId) {
      const history = await client.workflow.getHandle(child.workflowId, runId).fetchHistory();
      runs.push(measure(child.workflowId, runId, history));
      const last = history.events?.[history.events.length - 1];
      runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.all(running);
  }
  return { runs, calls };
}

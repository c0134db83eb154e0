/**
 * Pretraining activities. `preparePretraining` [cpu] decides where the loop starts (fresh, or the last
 * good checkpoint on `simclr resume`). `pretrainEpoch` [gpu] streams one epoch of precomputed views
 * through NT-Xent + LARS, heartbeats {epoch, step, loss, checkpoint}, checkpoints every N steps and at
 * the end, resumes a retried attempt from its heartbeat's checkpoint, and on cancellation stops at a
 * step boundary with a final checkpoint.
 */
import { CancelledFailure } from '@temporalio/common';
import { resolveExperiment, type ResolvedExperiment } from '../config/resolve';
import type { ExperimentConfig } from '../config/schema';
import { appendMetrics, metric, metricsChunk, type MetricRecord } from '../report/metrics';
import { decodeShard } from '../simclr/datasets/shard-format';
import { knnEvaluation } from '../simclr/evaluate/knn';
import { extractFeatures } from '../simclr/evaluate/features';
import type { ImageShape } from '../simclr/images';
import { epochOrder as viewOrder, ViewBatchSource, type ViewPosition } from '../simclr/view-batches';
import type { BlobStore } from '../storage/blob-store';
import type {
  DatasetManifest,
  PretrainEpochResult,
  PretrainEpochTime,
  PretrainHeartbeat,
} from '../workflows/types';
import { augmentationId, augmentShardKey, precomputeAugmentations } from './augment';
import {
  checkpointsPrefix,
  latestCheckpoint,
  loadPretrainer,
  newPretrainer,
  saveCheckpoint,
  type TrainingState,
} from './training-state';
import {
  activityBackend,
  activityStore,
  cancellationRequested,
  guard,
  heartbeat,
  log,
  previousHeartbeat,
} from './context';
import { loadSplit } from './dataset';

export interface PrepareInput {
  experimentId: string;
  config: ExperimentConfig;
  dataset: DatasetManifest;
  resume: boolean;
}

export interface PrepareResult {
  augmentationId: string;
  stepsPerEpoch: number;
  startEpoch: number;
  checkpoint?: string;
}

export function stepsPerEpoch(config: ExperimentConfig, dataset: DatasetManifest): number {
  return Math.floor(dataset.splits.train.count / config.pretrain.batchSize);
}

/** Where the pretrain loop starts: epoch 0, or the epoch after the last good checkpoint on resume. */
export async function preparePretraining(input: PrepareInput): Promise<PrepareResult> {
  return guard(async () => {
    const steps = stepsPerEpoch(input.config, input.dataset);
    const base = { augmentationId: augmentationId(input.config, input.dataset), stepsPerEpoch: steps };
    if (!input.resume) return { ...base, startEpoch: 0 };
    const store = await activityStore();
    const latest = await latestCheckpoint(store, input.experimentId);
    if (!latest) return { ...base, startEpoch: 0 };
    // A mid-epoch checkpoint restarts its epoch; pretrainEpoch skips the steps already done.
    const startEpoch = Math.floor(latest.step / steps);
    log().info(
      `resuming ${input.experimentId} from ${latest.key} (step ${latest.step}, epoch ${startEpoch})`,
    );
    return { ...base, startEpoch, checkpoint: latest.key };
  });
}

export interface PretrainEpochInput {
  experimentId: string;
  config: ExperimentConfig;
  dataset: DatasetManifest;
  augmentationId: string;
  epoch: number;
  stepsPerEpoch: number;
  /** The checkpoint the epoch starts from (undefined: fresh initialisation at epoch 0). */
  checkpoint?: string;
}

/** The order in which the epoch visits images: shards in a seeded order, images shuffled within each. */
export function epochOrder(dataset: DatasetManifest, seed: number, epoch: number): ViewPosition[] {
  return viewOrder(trainShardCounts(dataset), seed, epoch);
}

function trainShardCounts(dataset: DatasetManifest): number[] {
  return dataset.splits.train.shards.map((s) => s.count);
}

/**
 * The decoded views of one (epoch, shard) from the store, computing them inline when the precompute
 * has not written them (yet).
 */
function storeViews(store: BlobStore, input: PretrainEpochInput): (shard: number) => Promise<Uint8Array> {
  const { config, dataset, epoch } = input;
  return async (shard) => {
    const key = augmentShardKey(dataset.datasetId, input.augmentationId, epoch, shard);
    if (!(await store.exists(key))) {
      log().warn(`views of epoch ${epoch} shard ${shard} are not precomputed; computing them here`);
      await precomputeAugmentations({ config, dataset, augmentationId: input.augmentationId, epoch, shard });
    }
    return decodeShard(await store.get(key), key).pixels;
  };
}

/** The middle value (mean of the two middle ones for an even count); robust to a few slow steps. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds since `t0` (a performance.now() reading). */
const since = (t0: number): number => (performance.now() - t0) / 1000;

/**
 * One pretraining epoch: simclr/'s loop (Pretrainer.runEpoch over a ViewBatchSource) with the
 * activity's concerns around it: resume from the heartbeat's checkpoint, heartbeat every step,
 * checkpoint every pretrain.checkpointEverySteps and at the end, stop on cancellation with a final
 * checkpoint, then the kNN monitor and the epoch's metrics chunk.
 */
export async function pretrainEpoch(input: PretrainEpochInput): Promise<PretrainEpochResult> {
  return guard(async () => {
    const t0 = performance.now();
    const { experimentId, config, dataset, epoch } = input;
    const S = input.stepsPerEpoch;
    const backend = await activityBackend(config.backend);
    const store = await activityStore();
    const resolved: ResolvedExperiment = resolveExperiment(config, {
      imageSize: dataset.imageSize,
      channels: dataset.channels,
    });
    const shape: ImageShape = {
      height: dataset.imageSize,
      width: dataset.imageSize,
      channels: dataset.channels,
    };

    // Where to start: a retried attempt resumes from its newest committed checkpoint (newestOfEpoch).
    const retry = previousHeartbeat<PretrainHeartbeat>();
    const startKey = retry
      ? await newestOfEpoch(store, experimentId, epoch, S, retry.checkpoint ?? input.checkpoint)
      : input.checkpoint;
    let state: TrainingState = startKey
      ? await loadPretrainer(store, startKey, resolved, shape, S)
      : newPretrainer(resolved, shape, S);
    const trainer = state.pretrainer;
    try {
      const first = epoch * S;
      if (trainer.globalStep < first || trainer.globalStep > first + S)
        throw new Error(
          `checkpoint ${startKey} is at step ${trainer.globalStep}, outside epoch ${epoch} (steps ${first} to ${first + S})`,
        );
      if (retry) log().info(`attempt resumes epoch ${epoch} at step ${trainer.globalStep} from ${startKey}`);
      const startStep = trainer.globalStep;
      const time: PretrainEpochTime = {
        setupSeconds: since(t0),
        viewsSeconds: 0,
        stepsSeconds: 0,
        checkpointSeconds: 0,
        knnSeconds: 0,
        metricsSeconds: 0,
      };

      const source = new ViewBatchSource({
        order: epochOrder(dataset, config.seed, epoch),
        batchSize: config.pretrain.batchSize,
        imageShape: shape,
        batches: S,
        firstBatch: startStep - first,
        shardCounts: trainShardCounts(dataset),
        fetchShard: storeViews(store, input),
      });
      const records: MetricRecord[] = [];
      /** Each step's seconds: their median is the figure `npm run bench -- train` quotes for the isolated step. */
      const stepSeconds: number[] = [];
      let checkpoint = startKey;
      /** Saves a checkpoint (timed); with `loss`, heartbeats it so that a retry resumes from exactly here. */
      const save = async (loss?: number): Promise<string> => {
        const t = performance.now();
        const key = await saveCheckpoint(store, experimentId, state);
        time.checkpointSeconds += since(t);
        if (loss !== undefined)
          heartbeat({
            epoch,
            step: trainer.globalStep,
            stepsPerEpoch: S,
            loss,
            checkpoint: key,
          } satisfies PretrainHeartbeat);
        return key;
      };

      const summary = await trainer.runEpoch(source, {
        shouldStop: cancellationRequested,
        metricsEvery: 1,
        onStep: async ({ step, loss, lr, contrastiveAcc, stepSeconds: seconds }) => {
          stepSeconds.push(seconds);
          // Every step's loss is read (metricsEvery 1): heartbeats and the loss curve carry it.
          records.push(
            metric('pretrain', 'loss', loss!, { epoch, step }),
            metric('pretrain', 'lr', lr, { epoch, step }),
            metric('pretrain', 'contrastive_acc', contrastiveAcc!, { epoch, step }),
          );
          if (step !== first + S && step % config.pretrain.checkpointEverySteps === 0)
            checkpoint = await save();
          heartbeat({ epoch, step, stepsPerEpoch: S, loss: loss!, checkpoint } satisfies PretrainHeartbeat);
        },
      });
      time.viewsSeconds = summary.time.viewsSeconds;
      time.stepsSeconds = summary.time.stepsSeconds;
      const meanLoss = summary.steps ? summary.meanLoss : 0;
      if (summary.stopped) {
        checkpoint = await save(meanLoss);
        throw new CancelledFailure(`cancelled at step ${trainer.globalStep}; checkpoint ${checkpoint}`);
      }
      checkpoint = await save(meanLoss);

      const at = { epoch, step: trainer.globalStep };
      const imagesPerSec = summary.steps ? (2 * summary.images) / summary.seconds : 0;
      records.push(metric('pretrain', 'images_per_sec', imagesPerSec, at));
      records.push(metric('pretrain', 'aug_wait_ms', source.waitMs, at));
      if (stepSeconds.length)
        records.push(metric('pretrain', 'step_ms_median', 1000 * median(stepSeconds), at));
      let knnTop1: number | undefined;
      const every = config.pretrain.knnEveryEpochs;
      if (
        every > 0 &&
        ((epoch + 1) % every === 0 || epoch + 1 === config.pretrain.epochs) &&
        dataset.classNames.length > 0
      ) {
        const t = performance.now();
        knnTop1 = await knnMonitor(store, dataset, state, config);
        time.knnSeconds = since(t);
        records.push(metric('pretrain', 'knn_top1', knnTop1, at));
      }
      const t = performance.now();
      await appendMetrics(store, experimentId, metricsChunk('pretrain', epoch, `from-${startStep}`), records);
      time.metricsSeconds = since(t);
      // In a chunk of their own, written last, so that the breakdown includes the epoch's metrics write.
      await appendMetrics(
        store,
        experimentId,
        metricsChunk('pretrain', epoch, `time-from-${startStep}`),
        timeRecords(time, at),
      );
      return {
        epoch,
        globalStep: trainer.globalStep,
        meanLoss: summary.steps ? summary.meanLoss : Number.NaN,
        meanContrastiveAcc: summary.steps ? summary.meanContrastiveAcc : Number.NaN,
        checkpoint,
        seconds: since(t0),
        imagesPerSec,
        knnTop1,
        backend: backend.name,
        time,
      };
    } finally {
      state.pretrainer.dispose();
      state = undefined as unknown as TrainingState;
    }
  });
}

/**
 * The checkpoint a retried attempt of `epoch` resumes from: the one its last heartbeat named, or a newer
 * committed one of the same epoch. The server keeps only the last heartbeat that reached it, and workers
 * throttle heartbeats (2 s on the gpu queue), so a worker lost just after a checkpoint leaves a heartbeat
 * naming an older one; resuming there would redo up to a throttle interval more than one checkpoint
 * interval (the fault suite measured 8 steps redone at an interval of 4). The store's newest committed
 * checkpoint (simclr/checkpoint.ts: committed by its manifest, LATEST written last) knows better.
 */
async function newestOfEpoch(
  store: BlobStore,
  experimentId: string,
  epoch: number,
  stepsPerEpoch: number,
  fromHeartbeat: string | undefined,
): Promise<string | undefined> {
  const latest = await latestCheckpoint(store, experimentId);
  if (!latest) return fromHeartbeat;
  const first = epoch * stepsPerEpoch;
  const heartbeatStep = fromHeartbeat ? Number(/step-(\d+)$/.exec(fromHeartbeat)?.[1] ?? -1) : first;
  const inEpoch = latest.step > first && latest.step <= first + stepsPerEpoch;
  return inEpoch && latest.step > heartbeatStep ? latest.key : fromHeartbeat;
}

/** The epoch's time breakdown as metric records: pretrain/time_<part>_s (seconds). */
export function timeRecords(time: PretrainEpochTime, at: { epoch: number; step: number }): MetricRecord[] {
  return [
    metric('pretrain', 'time_setup_s', time.setupSeconds, at),
    metric('pretrain', 'time_views_s', time.viewsSeconds, at),
    metric('pretrain', 'time_steps_s', time.stepsSeconds, at),
    metric('pretrain', 'time_checkpoint_s', time.checkpointSeconds, at),
    metric('pretrain', 'time_knn_s', time.knnSeconds, at),
    metric('pretrain', 'time_metrics_s', time.metricsSeconds, at),
  ];
}

/** Weighted kNN (k = 200, τ = 0.1) of the current encoder: train features vote for test images. */
async function knnMonitor(
  store: BlobStore,
  dataset: DatasetManifest,
  state: TrainingState,
  config: ExperimentConfig,
): Promise<number> {
  const shape: ImageShape = {
    height: dataset.imageSize,
    width: dataset.imageSize,
    channels: dataset.channels,
  };
  const train = await loadSplit(store, dataset, 'train');
  const test = await loadSplit(store, dataset, 'test');
  const encoder = state.pretrainer.encoder;
  const trainF = await extractFeatures(encoder, train.pixels, train.count, shape, 512);
  const testF = await extractFeatures(encoder, test.pixels, test.count, shape, 512);
  const dim = trainF.length / train.count;
  const r = await knnEvaluation(
    { features: trainF, labels: train.labels, dim },
    { features: testF, labels: test.labels, dim },
    config.evaluation.knn,
    { numClasses: dataset.classNames.length },
  );
  return r.top1;
}

export { checkpointsPrefix };

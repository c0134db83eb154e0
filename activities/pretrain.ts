/**
 * Pretraining activities. `preparePretraining` [cpu] decides where the loop starts (fresh, or the last
 * good checkpoint on `simclr resume`). `pretrainEpoch` [gpu] streams one epoch of precomputed views
 * through NT-Xent + LARS, heartbeats {epoch, step, loss, checkpoint}, checkpoints every N steps and at
 * the end, resumes a retried attempt from its heartbeat's checkpoint, and on cancellation stops at a
 * step boundary with a final checkpoint.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { resolveExperiment, type ResolvedExperiment } from '../config/resolve';
import type { ExperimentConfig } from '../config/schema';
import { appendMetrics, metric, metricsChunk, readMetrics, type MetricRecord } from '../report/metrics';
import { warmStartPretrainer } from '../simclr/checkpoint';
import { knnEvaluation } from '../simclr/evaluate/knn';
import { extractFeatures } from '../simclr/evaluate/features';
import type { ImageShape } from '../simclr/images';
import { epochOrder as viewOrder, ViewBatchSource, type ViewPosition } from '../simclr/view-batches';
import type { BlobStore } from '../storage/blob-store';
import type { DatasetManifest } from '../contracts/dataset';
import { viewsIdOf } from '../storage/layout';
import type {
  PrepareInput,
  PrepareResult,
  PretrainEpochInput,
  PretrainEpochResult,
  PretrainHeartbeat,
} from '../contracts/pretrain';
import { augmentationId, loadViews } from './augment';
import { epochStatsMetrics, recoverEpochStats, type EpochStats } from './epoch-stats';
import { epochTime, timeRecords } from './epoch-time';
import { pretrainHistoryFromMetrics } from './pretrain-history';
import {
  checkpointsPrefix,
  latestCheckpoint,
  loadPretrainer,
  newPretrainer,
  resumeFrom,
  saveCheckpoint,
  type TrainingState,
} from './training-state';
import {
  activityBackend,
  activityStore,
  cancellationRequested,
  guard,
  heartbeat,
  heartbeatTimeoutMs,
  log,
  previousHeartbeat,
  progressHeartbeat,
} from './context';
import { datasetManifest } from './dataset-manifests';
import { splitFeatures } from './split-reads';

export type { PrepareInput, PrepareResult, PretrainEpochInput } from '../contracts/pretrain';

/** The failure type of a new run under an id whose earlier run left checkpoints (not a resume). */
export const EXPERIMENT_ID_IN_USE = 'ExperimentIdInUse';

export function stepsPerEpoch(config: ExperimentConfig, dataset: DatasetManifest): number {
  return Math.floor(dataset.splits.train.count / config.pretrain.batchSize);
}

/**
 * Where the pretrain loop starts: epoch 0, or on resume the epoch after the last good checkpoint, with
 * the history of the epochs before it. A new run (not a resume) of an id whose earlier run left
 * checkpoints is refused: it would pick up the old run's checkpoints as its own (checkpoints of a step
 * that exists are kept) and mix its metrics into the new report.
 */
export async function preparePretraining(input: PrepareInput): Promise<PrepareResult> {
  return guard(async () => {
    const store = await activityStore();
    const dataset = await datasetManifest(store, input.dataset);
    const steps = stepsPerEpoch(input.config, dataset);
    // The experiment's own views (storage/layout.ts): no other run deletes them, a resume finds them.
    const views = viewsIdOf(augmentationId(input.config, dataset), input.experimentId);
    const base = { augmentationId: views, stepsPerEpoch: steps };
    const latest = await latestCheckpoint(store, input.experimentId);
    if (!input.resume) {
      if (latest)
        throw ApplicationFailure.nonRetryable(
          `experiment '${input.experimentId}' already has checkpoints from an earlier run (latest ${latest.key} ` +
            `in ${store.location}): continue it with 'simclr resume ${input.experimentId}', or run under another id`,
          EXPERIMENT_ID_IN_USE,
        );
      return { ...base, startEpoch: 0 };
    }
    if (!latest) return { ...base, startEpoch: 0 };
    // A mid-epoch checkpoint restarts its epoch; pretrainEpoch skips the steps already done.
    const startEpoch = Math.floor(latest.step / steps);
    log().info(
      `resuming ${input.experimentId} from ${latest.key} (step ${latest.step}, epoch ${startEpoch})`,
    );
    const records = await readMetrics(store, input.experimentId);
    const history = pretrainHistoryFromMetrics(records, input.experimentId, steps, startEpoch);
    return { ...base, startEpoch, checkpoint: latest.key, history };
  });
}

/** The order in which the epoch visits images: shards in a seeded order, images shuffled within each. */
export function epochOrder(dataset: DatasetManifest, seed: number, epoch: number): ViewPosition[] {
  return viewOrder(trainShardCounts(dataset), seed, epoch);
}

function trainShardCounts(dataset: DatasetManifest): number[] {
  return dataset.splits.train.shards.map((s) => s.count);
}

/**
 * The views of one (epoch, shard) of this epoch: verified, recomputed here when missing or corrupt.
 * An inline computation heartbeats its progress with `resumePoint()` (this attempt's last step
 * heartbeat) so that a retry still finds its checkpoint; before the attempt's first step it does not
 * heartbeat at all, rather than send details a retry could not resume from.
 */
function storeViews(
  store: BlobStore,
  input: PretrainEpochInput & { dataset: DatasetManifest },
  resumePoint: () => PretrainHeartbeat | undefined,
): (shard: number) => Promise<Uint8Array> {
  const { config, dataset, epoch } = input;
  const progress = (stage: string) => (done: number, total?: number) => {
    const base = resumePoint();
    if (base) progressHeartbeat(base)(stage)(done, total);
  };
  return (shard) =>
    loadViews(store, { config, dataset, augmentationId: input.augmentationId, epoch, shard }, progress);
}

/** Images per forward pass when extracting kNN monitor features (one heartbeat each). */
export const FEATURE_BATCH = 512;

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
export async function pretrainEpoch(ref: PretrainEpochInput): Promise<PretrainEpochResult> {
  return guard(async () => {
    const t0 = performance.now();
    const backend = await activityBackend(ref.config.backend);
    const store = await activityStore();
    const input = { ...ref, dataset: await datasetManifest(store, ref.dataset) };
    const { experimentId, config, dataset, epoch } = input;
    const S = input.stepsPerEpoch;
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
    const startKey = await resumeFrom(store, experimentId, {
      wanted: retry?.checkpoint ?? input.checkpoint,
      retried: retry !== undefined,
      epoch,
      stepsPerEpoch: S,
    });
    let state: TrainingState = startKey
      ? await loadPretrainer(store, startKey, resolved, shape, S)
      : newPretrainer(resolved, shape, S);
    if (!startKey && input.warmStartFrom) {
      // A scheduled retrain: the previous run's weights, this run's fresh optimiser and schedule.
      await warmStartPretrainer(store, input.warmStartFrom, state.pretrainer);
      log().info(`${experimentId} warm-starts from ${input.warmStartFrom}`);
    }
    const trainer = state.pretrainer;
    try {
      const first = epoch * S;
      if (trainer.globalStep < first || trainer.globalStep > first + S)
        throw new Error(
          `checkpoint ${startKey} is at step ${trainer.globalStep}, outside epoch ${epoch} (steps ${first} to ${first + S})`,
        );
      if (retry) log().info(`attempt resumes epoch ${epoch} at step ${trainer.globalStep} from ${startKey}`);
      const startStep = trainer.globalStep;
      /** The checkpoint is the epoch's last step: no step is left, only the end-of-epoch work. */
      const resumedAtEnd = startStep === first + S;
      const time = epochTime(since(t0));

      /** This attempt's last step heartbeat: what a retry resumes from. */
      let lastBeat: PretrainHeartbeat | undefined;
      const source = new ViewBatchSource({
        order: epochOrder(dataset, config.seed, epoch),
        batchSize: config.pretrain.batchSize,
        imageShape: shape,
        batches: S,
        firstBatch: startStep - first,
        shardCounts: trainShardCounts(dataset),
        fetchShard: storeViews(store, input, () => lastBeat),
      });
      const records: MetricRecord[] = [];
      /** Each step's seconds: their median is the figure `npm run bench -- train` quotes for the isolated step. */
      const stepSeconds: number[] = [];
      let checkpoint = startKey;
      /**
       * Saves a checkpoint (timed; an end-of-epoch one keeps the epoch's figures in its manifest). With
       * `loss`, heartbeats it so that a retry resumes from exactly here.
       */
      const save = async (loss?: number, stats?: EpochStats): Promise<string> => {
        const t = performance.now();
        const key = await saveCheckpoint(store, experimentId, state, stats && epochStatsMetrics(stats));
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
      /** This attempt's per-step records, so far (timed as metrics). */
      const writeStepRecords = async () => {
        const t = performance.now();
        await appendMetrics(
          store,
          experimentId,
          metricsChunk('pretrain', epoch, `from-${startStep}`),
          records,
        );
        time.metricsSeconds += since(t);
      };

      const slow = slowStepWarning(config.pretrain.batchSize);
      const summary = await trainer.runEpoch(source, {
        shouldStop: cancellationRequested,
        metricsEvery: 1,
        onStep: async ({ step, loss, lr, contrastiveAcc, stepSeconds: seconds }) => {
          stepSeconds.push(seconds);
          slow(seconds);
          // Every step's loss is read (metricsEvery 1): heartbeats and the loss curve carry it.
          records.push(
            metric('pretrain', 'loss', loss!, { epoch, step }),
            metric('pretrain', 'lr', lr, { epoch, step }),
            metric('pretrain', 'contrastive_acc', contrastiveAcc!, { epoch, step }),
          );
          if (step !== first + S && step % config.pretrain.checkpointEverySteps === 0)
            checkpoint = await save();
          lastBeat = { epoch, step, stepsPerEpoch: S, loss: loss!, checkpoint };
          heartbeat(lastBeat);
        },
      });
      time.viewsSeconds = summary.time.viewsSeconds;
      time.stepsSeconds = summary.time.stepsSeconds;
      if (summary.stopped) {
        checkpoint = await save(summary.steps ? summary.meanLoss : 0);
        // The steps' losses go into the curves now: the resumed run writes only the steps after this one.
        if (records.length) await writeStepRecords();
        throw new CancelledFailure(`cancelled at step ${trainer.globalStep}; checkpoint ${checkpoint}`);
      }
      let stats: EpochStats;
      let endCheckpoint: string;
      if (resumedAtEnd && startKey) {
        // A previous attempt finished the steps and died in the end-of-epoch work (kNN monitor,
        // metrics): its checkpoint keeps the epoch's figures; the rest of the work is done below.
        stats = await recoverEpochStats(store, startKey, retry?.loss);
        endCheckpoint = startKey;
        heartbeat(retry);
      } else {
        stats = {
          meanLoss: summary.meanLoss,
          meanContrastiveAcc: summary.meanContrastiveAcc,
          imagesPerSec: (2 * summary.images) / summary.seconds,
        };
        endCheckpoint = await save(stats.meanLoss, stats);
        // The steps' records are safe before the kNN monitor runs (a retry would have no steps to record).
        await writeStepRecords();
      }
      // What a retry needs stays in every later heartbeat of this attempt (kNN monitor progress).
      const endBeat: PretrainHeartbeat = {
        epoch,
        step: trainer.globalStep,
        stepsPerEpoch: S,
        loss: stats.meanLoss,
        checkpoint: endCheckpoint,
      };

      const at = { epoch, step: trainer.globalStep };
      const imagesPerSec = stats.imagesPerSec;
      if (!resumedAtEnd) {
        // Throughput and waiting are the attempt's that ran the steps (in its chunk already, when resumed).
        records.push(metric('pretrain', 'images_per_sec', imagesPerSec, at));
        records.push(metric('pretrain', 'aug_wait_ms', source.waitMs, at));
      }
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
        knnTop1 = await knnMonitor(store, dataset, state, config, progressHeartbeat(endBeat));
        time.knnSeconds = since(t);
        records.push(metric('pretrain', 'knn_top1', knnTop1, at));
      }
      await writeStepRecords();
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
        meanLoss: stats.meanLoss,
        meanContrastiveAcc: stats.meanContrastiveAcc,
        checkpoint: endCheckpoint,
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
 * A check after each step of whether one step, which blocks the event loop from start to end (tfjs-node
 * runs its ops synchronously, so nothing can heartbeat during it), comes near the heartbeat timeout.
 * Past half of it, it warns once per attempt with the measured time: past the whole of it the attempt
 * is timed out mid-step by the server and every retry would be too, so the warning names the fix
 * (a smaller pretrain.batchSize, or a faster device).
 */
export function slowStepWarning(batchSize: number): (stepSeconds: number) => void {
  let warned = false;
  return (seconds) => {
    const timeout = heartbeatTimeoutMs();
    if (warned || timeout === undefined || seconds * 1000 <= timeout / 2) return;
    warned = true;
    log().warn(
      `one training step took ${seconds.toFixed(1)} s at pretrain.batchSize ${batchSize}, more than half of the ` +
        `activity's heartbeat timeout (${(timeout / 1000).toFixed(0)} s); nothing can heartbeat during a step, so ` +
        'a step longer than the timeout fails every attempt: lower pretrain.batchSize or use a faster backend/device',
    );
  };
}

/**
 * Weighted kNN (k = 200, τ = 0.1) of the current encoder: train features vote for test images.
 * Heartbeats through `progress` after every shard read, every feature batch and every block of votes.
 */
async function knnMonitor(
  store: BlobStore,
  dataset: DatasetManifest,
  state: TrainingState,
  config: ExperimentConfig,
  progress: (stage: string) => (done: number, total?: number) => void,
): Promise<number> {
  const shape: ImageShape = {
    height: dataset.imageSize,
    width: dataset.imageSize,
    channels: dataset.channels,
  };
  const encoder = state.pretrainer.encoder;
  // Shard by shard: only the features of a split are held, never its pixels.
  const features = (pixels: Uint8Array, count: number, onImages: (done: number) => void) =>
    extractFeatures(encoder, pixels, count, shape, FEATURE_BATCH, onImages);
  const train = await splitFeatures(store, dataset, 'train', features, {
    onShard: progress('knn: read train shards'),
    onImages: progress('knn: train features'),
  });
  const test = await splitFeatures(store, dataset, 'test', features, {
    onShard: progress('knn: read test shards'),
    onImages: progress('knn: test features'),
  });
  const r = await knnEvaluation(train, test, config.evaluation.knn, {
    numClasses: dataset.classNames.length,
    onProgress: progress('knn: votes'),
  });
  return r.top1;
}

export { checkpointsPrefix };

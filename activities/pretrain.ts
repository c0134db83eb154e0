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
import { Rng } from '../simclr/rng';
import { decodeShard } from '../simclr/datasets/shard-format';
import { knnEvaluation } from '../simclr/evaluate/knn';
import { extractFeatures } from '../simclr/evaluate/features';
import type { ImageShape } from '../simclr/images';
import type { BlobStore } from '../storage/blob-store';
import type { DatasetManifest, PretrainEpochResult, PretrainHeartbeat } from '../workflows/types';
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
export function epochOrder(
  dataset: DatasetManifest,
  seed: number,
  epoch: number,
): { shard: number; index: number }[] {
  const rng = new Rng({ seed, epoch, index: 0, view: 0x4550_0000 });
  const shards = rng.shuffle(dataset.splits.train.shards.map((_, i) => i));
  const order: { shard: number; index: number }[] = [];
  for (const shard of shards) {
    const within = rng.shuffle(Array.from({ length: dataset.splits.train.shards[shard].count }, (_, i) => i));
    for (const index of within) order.push({ shard, index });
  }
  return order;
}

/** Reads the views of a shard, computing them inline when the precompute has not written them (yet). */
class ViewReader {
  private cache = new Map<number, Uint8Array>();
  waitMs = 0;
  constructor(
    private readonly store: BlobStore,
    private readonly input: PretrainEpochInput,
  ) {}

  async shard(shard: number): Promise<Uint8Array> {
    const hit = this.cache.get(shard);
    if (hit) return hit;
    const { dataset, epoch } = this.input;
    const key = augmentShardKey(dataset.datasetId, this.input.augmentationId, epoch, shard);
    const t0 = Date.now();
    if (!(await this.store.exists(key))) {
      log().warn(`views of epoch ${epoch} shard ${shard} are not precomputed; computing them here`);
      await precomputeAugmentations({
        config: this.input.config,
        dataset,
        augmentationId: this.input.augmentationId,
        epoch,
        shard,
      });
    }
    const views = decodeShard(await this.store.get(key), key).pixels;
    this.waitMs += Date.now() - t0;
    if (this.cache.size >= 2) this.cache.delete(this.cache.keys().next().value as number);
    this.cache.set(shard, views);
    return views;
  }
}

export async function pretrainEpoch(input: PretrainEpochInput): Promise<PretrainEpochResult> {
  return guard(async () => {
    const t0 = Date.now();
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

    // Where to start: a retried attempt resumes from its own last checkpoint.
    const retry = previousHeartbeat<PretrainHeartbeat>();
    const startKey = retry?.checkpoint ?? input.checkpoint;
    let state: TrainingState = startKey
      ? await loadPretrainer(store, startKey, resolved, shape, S)
      : newPretrainer(resolved, shape, S);
    const trainer = state.pretrainer;
    try {
      const first = epoch * S;
      if (trainer.globalStep < first)
        throw new Error(
          `checkpoint ${startKey} is at step ${trainer.globalStep}, before epoch ${epoch} (step ${first})`,
        );
      if (retry) log().info(`attempt resumes epoch ${epoch} at step ${trainer.globalStep} from ${startKey}`);

      const order = epochOrder(dataset, config.seed, epoch);
      const batch = config.pretrain.batchSize;
      const bytes = shape.height * shape.width * shape.channels;
      const reader = new ViewReader(store, input);
      const records: MetricRecord[] = [];
      let lossSum = 0;
      let accSum = 0;
      let steps = 0;
      let checkpoint = startKey;
      const stepStart = Date.now();
      const startStep = trainer.globalStep;
      /** Saves a checkpoint and heartbeats it, so that a retry resumes from exactly here. */
      const checkpointAndReport = async (): Promise<string> => {
        const key = await saveCheckpoint(store, experimentId, state);
        const beat: PretrainHeartbeat = {
          epoch,
          step: trainer.globalStep,
          stepsPerEpoch: S,
          loss: steps ? lossSum / steps : 0,
          checkpoint: key,
        };
        heartbeat(beat);
        return key;
      };

      while (trainer.globalStep < first + S) {
        const b = trainer.globalStep - first;
        if (cancellationRequested()) {
          checkpoint = await checkpointAndReport();
          throw new CancelledFailure(`cancelled at step ${trainer.globalStep}; checkpoint ${checkpoint}`);
        }
        const v1 = new Uint8Array(batch * bytes);
        const v2 = new Uint8Array(batch * bytes);
        for (let j = 0; j < batch; j++) {
          const { shard, index } = order[b * batch + j];
          const views = await reader.shard(shard);
          const n = dataset.splits.train.shards[shard].count;
          v1.set(views.subarray(index * bytes, (index + 1) * bytes), j * bytes);
          v2.set(views.subarray((n + index) * bytes, (n + index + 1) * bytes), j * bytes);
        }
        const out = await trainer.step(v1, v2, batch);
        if (!Number.isFinite(out.loss))
          throw new Error(
            `loss diverged (${out.loss}) at step ${trainer.globalStep}; lower pretrain.learningRate`,
          );
        lossSum += out.loss;
        accSum += out.contrastiveAcc;
        steps++;
        const step = trainer.globalStep;
        records.push(
          metric('pretrain', 'loss', out.loss, { epoch, step }),
          metric('pretrain', 'lr', out.lr, { epoch, step }),
          metric('pretrain', 'contrastive_acc', out.contrastiveAcc, { epoch, step }),
        );
        const atEnd = step === first + S;
        if (!atEnd && step % config.pretrain.checkpointEverySteps === 0) {
          checkpoint = await saveCheckpoint(store, experimentId, state);
        }
        heartbeat({ epoch, step, stepsPerEpoch: S, loss: out.loss, checkpoint } satisfies PretrainHeartbeat);
        // Let heartbeats and cancellation through between steps.
        await new Promise((r) => setImmediate(r));
      }
      const trainSeconds = (Date.now() - stepStart) / 1000;
      checkpoint = await checkpointAndReport();

      const imagesPerSec = steps ? (steps * batch * 2) / trainSeconds : 0;
      records.push(metric('pretrain', 'images_per_sec', imagesPerSec, { epoch, step: trainer.globalStep }));
      records.push(metric('pretrain', 'aug_wait_ms', reader.waitMs, { epoch, step: trainer.globalStep }));
      let knnTop1: number | undefined;
      const every = config.pretrain.knnEveryEpochs;
      if (
        every > 0 &&
        ((epoch + 1) % every === 0 || epoch + 1 === config.pretrain.epochs) &&
        dataset.classNames.length > 0
      ) {
        knnTop1 = await knnMonitor(store, dataset, state, config);
        records.push(metric('pretrain', 'knn_top1', knnTop1, { epoch, step: trainer.globalStep }));
      }
      await appendMetrics(store, experimentId, metricsChunk('pretrain', epoch, `from-${startStep}`), records);
      return {
        epoch,
        globalStep: trainer.globalStep,
        meanLoss: steps ? lossSum / steps : Number.NaN,
        meanContrastiveAcc: steps ? accSum / steps : Number.NaN,
        checkpoint,
        seconds: (Date.now() - t0) / 1000,
        imagesPerSec,
        knnTop1,
        backend: backend.name,
      };
    } finally {
      state.pretrainer.dispose();
      state = undefined as unknown as TrainingState;
    }
  });
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

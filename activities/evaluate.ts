/**
 * Evaluation activities [gpu]: linear evaluation and the kNN monitor on frozen representations (of the
 * pretrained encoder, of a random-init encoder of the same architecture, or of the raw pixels), and
 * classifier training on labels: fine-tuning the pretrained encoder on class-balanced label fractions,
 * the same from random init (training from scratch), and the supervised upper bound on every label.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { baselinesOf } from '../config/baselines';
import { resolveExperiment } from '../config/resolve';
import type { FineTuneConfig } from '../config/schema';
import { appendMetrics, metric, metricsChunk, type MetricStage } from '../report/metrics';
import { labelFractionSubset } from '../simclr/datasets/splits';
import { extractFeatures, type FeatureSet } from '../simclr/evaluate/features';
import { fineTune as fineTuneEncoder } from '../simclr/evaluate/finetune';
import { knnEvaluation } from '../simclr/evaluate/knn';
import { linearEvaluation } from '../simclr/evaluate/linear';
import { pixelFeatures } from '../simclr/evaluate/pixels';
import { sampleRepresentation } from '../simclr/evaluate/representation-sample';
import { REPRESENTATION_VIEW_DEFAULTS } from '../config/defaults';
import { writeRepresentationSample } from '../report/representation-sample';
import type { ImageShape } from '../simclr/images';
import type { DatasetManifest } from '../contracts/dataset';
import type {
  EvalInput,
  ExperimentRef,
  FineTuneInput,
  FineTuneResult,
  RepresentationEval,
  RepresentationSource,
  SupervisedResult,
} from '../contracts/evaluate';
import {
  activityBackend,
  activityStore,
  cancellationRequested,
  guard,
  heartbeat,
  progressHeartbeat,
} from './context';
import { datasetManifest } from './dataset-manifests';
import { gatherImages, splitFeatures, splitLabels, splitParts } from './split-reads';
import { loadPretrainer, newPretrainer, type TrainingState } from './training-state';
import { stepsPerEpoch } from './pretrain';

export type { EvalInput, FineTuneInput } from '../contracts/evaluate';

/**
 * Heartbeats `progress` and, once the activity's cancellation was requested, stops the work by throwing
 * CancelledFailure carrying where it stopped (its details reach the workflow history). Called at every
 * batch, epoch or step boundary, so a cancelled run frees the GPU slot within one of them.
 */
function progressOrStop(progress: Record<string, unknown>): void {
  if (cancellationRequested())
    throw new CancelledFailure(
      `${String(progress.stage ?? (progress.progress as { stage?: string } | undefined)?.stage)} cancelled${progress.step === undefined ? '' : ` at step ${String(progress.step)}`}`,
      [{ ...progress, stopped: true }],
    );
  heartbeat(progress);
}

const shapeOf = (d: DatasetManifest): ImageShape => ({
  height: d.imageSize,
  width: d.imageSize,
  channels: d.channels,
});

/** The evaluated source, from an explicit `encoder` or (older inputs) from whether a checkpoint is given. */
export function representationSource(input: EvalInput): RepresentationSource {
  const source = input.encoder ?? (input.checkpoint ? 'pretrained' : 'random-init');
  if (source === 'pretrained' && !input.checkpoint) {
    throw ApplicationFailure.nonRetryable(
      `evaluation of experiment '${input.experimentId}': encoder 'pretrained' needs a checkpoint`,
      'PipelineError',
    );
  }
  return source;
}

/** An activity input with its dataset as the manifest (read from the store for a DatasetRef). */
type WithManifest<T extends ExperimentRef> = T & { dataset: DatasetManifest };

async function withManifest<T extends ExperimentRef>(input: T): Promise<WithManifest<T>> {
  return { ...input, dataset: await datasetManifest(await activityStore(), input.dataset) };
}

/** The encoder (with its projection head): restored from `checkpoint`, or fresh from the experiment's seed. */
async function encoderFor(
  input: WithManifest<ExperimentRef>,
  checkpoint: string | undefined,
): Promise<TrainingState> {
  const { config, dataset } = input;
  const resolved = resolveExperiment(config, { imageSize: dataset.imageSize, channels: dataset.channels });
  const shape = shapeOf(dataset);
  const steps = stepsPerEpoch(config, dataset);
  if (checkpoint === undefined) return newPretrainer(resolved, shape, steps);
  return loadPretrainer(await activityStore(), checkpoint, resolved, shape, steps);
}

/**
 * Train and test representations of `source`: encoder features (inference mode) or the raw pixels,
 * computed shard by shard (only the features of a split are held, never its pixels).
 */
async function representations(
  input: WithManifest<EvalInput>,
  source: RepresentationSource,
): Promise<{ train: FeatureSet; test: FeatureSet }> {
  const store = await activityStore();
  const { dataset } = input;
  const shape = shapeOf(dataset);
  const reads = progressHeartbeat({ encoder: source });
  const progress = (split: 'train' | 'test') => ({
    onShard: reads(`read ${split} shards`),
    onImages: (done: number, total: number) =>
      progressOrStop({ encoder: source, stage: `${split} features`, done, total }),
  });
  if (source === 'pixels') {
    const pixels = (p: Uint8Array, n: number) => pixelFeatures(p, n, shape);
    return {
      train: await splitFeatures(store, dataset, 'train', pixels, progress('train')),
      test: await splitFeatures(store, dataset, 'test', pixels, progress('test')),
    };
  }
  const state = await encoderFor(input, source === 'pretrained' ? input.checkpoint : undefined);
  try {
    const enc = state.pretrainer.encoder;
    const features = (p: Uint8Array, n: number, onImages: (done: number) => void) =>
      extractFeatures(enc, p, n, shape, 512, onImages);
    return {
      train: await splitFeatures(store, dataset, 'train', features, progress('train')),
      test: await splitFeatures(store, dataset, 'test', features, progress('test')),
    };
  } finally {
    state.pretrainer.dispose();
  }
}

/**
 * Linear evaluation and weighted kNN on frozen representations, trained on every labelled train image:
 * of the pretrained encoder, of the random-init encoder, or of the raw pixels, with one protocol.
 */
export async function evaluateRepresentation(input: EvalInput): Promise<RepresentationEval> {
  return guard(async () => {
    const which = representationSource(input);
    await activityBackend(input.config.backend);
    const store = await activityStore();
    const full = await withManifest(input);
    const { dataset, config } = full;
    const sets = await representations(full, which);
    const numClasses = dataset.classNames.length;
    const linear = await linearEvaluation(sets.train, sets.test, config.evaluation.linear, {
      seed: config.seed,
      numClasses,
      onEpoch: (epoch, loss) => progressOrStop({ encoder: which, stage: 'linear', epoch, loss }),
    });
    const knn = await knnEvaluation(sets.train, sets.test, config.evaluation.knn, {
      numClasses,
      onProgress: (done, total) =>
        progressOrStop({ encoder: which, progress: { stage: 'knn votes', done, total } }),
    });
    let representationKey: string | undefined;
    if (which !== 'pixels') {
      // What the report shows of this representation (its maps, neighbour grid and confusion matrix):
      // a sample of the features computed here, so the report activity needs no encoder.
      progressHeartbeat({ encoder: which })('representation sample')(0, 1);
      const v = REPRESENTATION_VIEW_DEFAULTS;
      const sample = await sampleRepresentation(sets.train, sets.test, {
        points: v.mapPoints,
        queries: v.neighbourQueries,
        k: v.neighbours,
        seed: config.seed,
      });
      representationKey = await writeRepresentationSample(
        store,
        input.experimentId,
        which,
        sample,
        linear.confusion,
        sets.test.labels.length,
      );
    }
    const at = { encoder: which } as const;
    await appendMetrics(store, input.experimentId, metricsChunk('linear', 0, which), [
      ...linear.lossCurve.map((loss, epoch) => metric('linear', 'loss', loss, { ...at, epoch })),
      metric('linear', 'top1', linear.top1, at),
      metric('linear', 'top5', linear.top5, at),
      metric('knn', 'knn_top1', knn.top1, at),
      metric('knn', 'knn_top5', knn.top5, at),
    ]);
    return {
      encoder: which,
      linear: { top1: linear.top1, top5: linear.top5 },
      knn: { top1: knn.top1, top5: knn.top5, k: knn.k },
      representationKey,
    };
  });
}

interface TrainClassifierRun {
  /** The encoder's weights: a checkpoint, or undefined for random init. */
  checkpoint: string | undefined;
  settings: FineTuneConfig;
  /** The labelled subset, as indices into the training split. */
  indices: (labels: Int32Array) => Int32Array;
  /** Where the loss curve and accuracies go in metrics.jsonl, and the chunk's qualifier. */
  stage: MetricStage;
  chunk: string;
  tags: { fraction?: number; encoder?: 'random-init' };
}

/**
 * Trains the encoder (plus `settings.fromHeadLayer` head stages) with a new linear classifier on labelled
 * images (simclr/evaluate/finetune.ts), heartbeating every step with its epoch, and stopping at a step
 * boundary when the activity is cancelled.
 */
async function trainClassifier(
  ref: ExperimentRef,
  run: TrainClassifierRun,
): Promise<{ top1: number; top5: number; labelledImages: number }> {
  await activityBackend(ref.config.backend);
  const store = await activityStore();
  const input = await withManifest(ref);
  const { dataset, config } = input;
  const state = await encoderFor(input, run.checkpoint);
  // The stages share the head's weights; they are disposed with it below.
  const headStages = run.settings.fromHeadLayer > 0 ? state.pretrainer.head.headStages() : [];
  try {
    const progress = progressHeartbeat({ stage: run.stage, ...run.tags });
    // Shard by shard: the labels, then the labelled subset's images only (1 % of the labels: 1 % of the split).
    const labels = await splitLabels(store, dataset, 'train', progress('read train labels'));
    const indices = run.indices(labels);
    const train = await gatherImages(store, dataset, 'train', indices, progress('read the labelled images'));
    const test = splitParts(store, dataset, 'test', progress('read test shards'));
    const shape = shapeOf(dataset);
    const { epochs } = run.settings;
    let lastLoss: number | undefined;
    const result = await fineTuneEncoder({
      encoder: state.pretrainer.encoder,
      headStages,
      config: run.settings,
      train: { ...train, shape },
      trainIndices: Int32Array.from({ length: train.count }, (_, i) => i),
      test,
      seed: config.seed,
      numClasses: dataset.classNames.length,
      onEpoch: (_epoch, loss) => (lastLoss = loss),
      onStep: (step, total) => {
        const epoch = Math.floor((step * epochs) / total);
        progressOrStop({ stage: run.stage, ...run.tags, epoch, epochs, step, total, loss: lastLoss });
      },
    });
    await appendMetrics(store, input.experimentId, metricsChunk(run.stage, 0, run.chunk), [
      ...result.lossCurve.map((loss, epoch) => metric(run.stage, 'loss', loss, { ...run.tags, epoch })),
      metric(run.stage, 'top1', result.top1, run.tags),
      metric(run.stage, 'top5', result.top5, run.tags),
    ]);
    return { top1: result.top1, top5: result.top5, labelledImages: indices.length };
  } finally {
    for (const stage of headStages) stage.dispose();
    state.pretrainer.dispose();
  }
}

/**
 * Fine-tunes a copy of the pretrained encoder with a new linear classifier on a class-balanced label
 * fraction; with `fineTune.fromHeadLayer` k > 0, copies of the first k projection-head stages sit
 * between the two and are fine-tuned too ([SimCLRv2] fine-tunes from the first head layer). With
 * `encoder: 'random-init'` the same network starts from random weights instead: training from scratch
 * on the same labels with the same settings but the learning rate for training from random init
 * (evaluation.baselines.fromScratchLearningRate), the baseline fine-tuning must beat ([SimCLR] Table 7).
 */
export async function fineTune(input: FineTuneInput): Promise<FineTuneResult> {
  return guard(async () => {
    const { config, fraction } = input;
    const scratch = input.encoder === 'random-init';
    if (!scratch && !input.checkpoint) {
      throw ApplicationFailure.nonRetryable(
        `fineTune of experiment '${input.experimentId}': encoder 'pretrained' needs a checkpoint`,
        'PipelineError',
      );
    }
    const r = await trainClassifier(input, {
      checkpoint: scratch ? undefined : input.checkpoint,
      settings: scratch
        ? { ...config.fineTune, learningRate: baselinesOf(config).fromScratchLearningRate }
        : config.fineTune,
      indices: (labels) => labelFractionSubset(labels, fraction, config.seed),
      stage: 'finetune',
      // The pretrained run keeps the chunk name it always had (a retried old activity rewrites it).
      chunk: scratch ? `random-init-${fraction}` : String(fraction),
      tags: scratch ? { fraction, encoder: 'random-init' } : { fraction },
    });
    return { fraction, ...r };
  });
}

/**
 * The supervised upper bound: the encoder architecture from random init plus a linear classifier,
 * trained on every training label for as many epochs as pretraining ran (`pretrain.epochs`), with the
 * fine-tuning optimiser, batch size and crop-and-flip augmentation (`fineTune.*`) at the learning rate
 * for training from random init (evaluation.baselines.fromScratchLearningRate; defaults.ts has the
 * measurements), from the encoder output (a plain supervised network, whatever fromHeadLayer says).
 */
export async function supervisedBaseline(input: ExperimentRef): Promise<SupervisedResult> {
  return guard(async () => {
    const epochs = input.config.pretrain.epochs;
    const r = await trainClassifier(input, {
      checkpoint: undefined,
      settings: {
        ...input.config.fineTune,
        epochs,
        fromHeadLayer: 0,
        learningRate: baselinesOf(input.config).fromScratchLearningRate,
      },
      indices: (labels) => Int32Array.from(labels, (_, i) => i),
      stage: 'supervised',
      chunk: 'all-labels',
      tags: { encoder: 'random-init' },
    });
    return { epochs, ...r };
  });
}

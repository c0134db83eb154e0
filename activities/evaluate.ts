/**
 * Evaluation activities [gpu]: linear evaluation and the kNN monitor on frozen features of the
 * pretrained encoder (or of a random-init encoder of the same architecture, the baseline), and
 * fine-tuning on class-balanced label fractions.
 */
import { resolveExperiment } from '../config/resolve';
import type { ExperimentConfig } from '../config/schema';
import { appendMetrics, metric, metricsChunk } from '../report/metrics';
import { labelFractionSubset } from '../simclr/datasets/splits';
import { extractFeatures } from '../simclr/evaluate/features';
import { fineTune as fineTuneEncoder } from '../simclr/evaluate/finetune';
import { knnEvaluation } from '../simclr/evaluate/knn';
import { linearEvaluation } from '../simclr/evaluate/linear';
import type { ImageShape } from '../simclr/images';
import type { DatasetManifest, FineTuneResult, RepresentationEval } from '../workflows/types';
import { activityBackend, activityStore, guard, heartbeat } from './context';
import { loadSplit } from './dataset';
import { loadPretrainer, newPretrainer, type TrainingState } from './training-state';
import { stepsPerEpoch } from './pretrain';

interface EvalInput {
  experimentId: string;
  config: ExperimentConfig;
  dataset: DatasetManifest;
  /** The pretrained checkpoint; undefined evaluates a random-init encoder (the baseline). */
  checkpoint?: string;
}

async function encoderFor(input: EvalInput): Promise<TrainingState> {
  const { config, dataset } = input;
  const resolved = resolveExperiment(config, { imageSize: dataset.imageSize, channels: dataset.channels });
  const shape = shapeOf(dataset);
  const steps = stepsPerEpoch(config, dataset);
  if (!input.checkpoint) return newPretrainer(resolved, shape, steps);
  return loadPretrainer(await activityStore(), input.checkpoint, resolved, shape, steps);
}

const shapeOf = (d: DatasetManifest): ImageShape => ({
  height: d.imageSize,
  width: d.imageSize,
  channels: d.channels,
});

/** Linear evaluation and weighted kNN on frozen encoder features, trained on every labelled train image. */
export async function evaluateRepresentation(input: EvalInput): Promise<RepresentationEval> {
  return guard(async () => {
    await activityBackend(input.config.backend);
    const store = await activityStore();
    const { dataset, config } = input;
    const which = input.checkpoint ? 'pretrained' : 'random-init';
    const state = await encoderFor(input);
    try {
      const train = await loadSplit(store, dataset, 'train');
      const test = await loadSplit(store, dataset, 'test');
      const shape = shapeOf(dataset);
      const progress = (stage: string) => (done: number, total: number) =>
        heartbeat({ encoder: which, stage, done, total });
      const enc = state.pretrainer.encoder;
      const trainF = await extractFeatures(
        enc,
        train.pixels,
        train.count,
        shape,
        512,
        progress('train features'),
      );
      const testF = await extractFeatures(
        enc,
        test.pixels,
        test.count,
        shape,
        512,
        progress('test features'),
      );
      const dim = trainF.length / train.count;
      const numClasses = dataset.classNames.length;
      const trainSet = { features: trainF, labels: train.labels, dim };
      const testSet = { features: testF, labels: test.labels, dim };
      const linear = await linearEvaluation(trainSet, testSet, config.evaluation.linear, {
        seed: config.seed,
        numClasses,
        onEpoch: (epoch, loss) => heartbeat({ encoder: which, stage: 'linear', epoch, loss }),
      });
      const knn = await knnEvaluation(trainSet, testSet, config.evaluation.knn, { numClasses });
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
      };
    } finally {
      state.pretrainer.dispose();
    }
  });
}

/**
 * Fine-tunes a copy of the pretrained encoder with a new linear classifier on a class-balanced label
 * fraction; with `fineTune.fromHeadLayer` k > 0, copies of the first k projection-head stages sit
 * between the two and are fine-tuned too ([SimCLRv2] fine-tunes from the first head layer).
 */
export async function fineTune(
  input: EvalInput & { checkpoint: string; fraction: number },
): Promise<FineTuneResult> {
  return guard(async () => {
    await activityBackend(input.config.backend);
    const store = await activityStore();
    const { dataset, config, fraction } = input;
    const state = await encoderFor(input);
    // The stages share the restored head's weights; they are disposed with it below.
    const headStages = config.fineTune.fromHeadLayer > 0 ? state.pretrainer.head.headStages() : [];
    try {
      const train = await loadSplit(store, dataset, 'train');
      const test = await loadSplit(store, dataset, 'test');
      const shape = shapeOf(dataset);
      const indices = labelFractionSubset(train.labels, fraction, config.seed);
      const result = await fineTuneEncoder({
        encoder: state.pretrainer.encoder,
        headStages,
        config: config.fineTune,
        train: { ...train, shape },
        trainIndices: indices,
        test: { ...test, shape },
        seed: config.seed,
        numClasses: dataset.classNames.length,
        onStep: (step, total) => heartbeat({ fraction, step, total }),
      });
      await appendMetrics(store, input.experimentId, metricsChunk('finetune', 0, String(fraction)), [
        ...result.lossCurve.map((loss, epoch) => metric('finetune', 'loss', loss, { fraction, epoch })),
        metric('finetune', 'top1', result.top1, { fraction }),
        metric('finetune', 'top5', result.top5, { fraction }),
      ]);
      return { fraction, top1: result.top1, top5: result.top5, labelledImages: indices.length };
    } finally {
      for (const stage of headStages) stage.dispose();
      state.pretrainer.dispose();
    }
  });
}

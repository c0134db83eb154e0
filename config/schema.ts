/**
 * The experiment file (YAML or JSON), as a zod schema. Every type used across the project for
 * configuration is inferred from here; every default comes from ./defaults.ts (the paper's values).
 *
 * Size-dependent defaults (colour strength, temperature, blur, stem) are left undefined here and
 * resolved by ./resolve.ts once the image size is known, exactly as the paper switches them between
 * its ImageNet and CIFAR-10 setups.
 */
import { z } from 'zod';
import { PAPER_DEFAULTS as P, STORAGE_DEFAULTS } from './defaults';
import { hasUriCredentials } from '../storage/redact';

const positiveInt = z.number().int().positive();
const probability = z.number().min(0).max(1);

/** A check that `obj[low] <= obj[high]`, reported on `low` with both values. */
function ordered<T extends Record<string, unknown>>(low: keyof T & string, high: keyof T & string) {
  return (obj: T, ctx: z.RefinementCtx<T>): void => {
    if ((obj[low] as number) > (obj[high] as number)) {
      ctx.addIssue({
        code: 'custom',
        path: [low],
        input: obj[low],
        message: `expected at most ${high} (${String(obj[high])})`,
      });
    }
  };
}

export const datasetSchema = z
  .object({
    /**
     * A local path or s3://bucket/prefix: an image folder, IDX files (MNIST/Fashion-MNIST) or CIFAR-10
     * binary batches. Never with credentials in it: the config travels in the workflow history.
     */
    source: z
      .string()
      .min(1)
      .refine((uri) => !hasUriCredentials(uri), {
        message:
          'credentials in the URI (the config is recorded in the workflow history): ' +
          'give them in SIMCLR_S3_ACCESS_KEY / SIMCLR_S3_SECRET_KEY and write s3://bucket/prefix',
      }),
    format: z.enum(['auto', 'folder', 'idx', 'cifar10']).default('auto'),
    /**
     * Side of the square images stored in the shards (sources are resized with sharp). Undefined: the
     * source's own side for IDX (28) and CIFAR-10 (32), 32 for image folders (./image-size.ts).
     */
    imageSize: positiveInt.max(1024).optional(),
    /** 1 = grayscale, 3 = RGB. Undefined: the source's own (1 for IDX, 3 for CIFAR and folders). */
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
    /** Images per shard. */
    shardSize: positiveInt.default(2048),
    /** Use at most this many training / test images (a class-balanced prefix), for quick runs. */
    maxTrainImages: positiveInt.optional(),
    maxTestImages: positiveInt.optional(),
    /** Fraction of a folder source held out as the test split when the source has none. */
    testFraction: z.number().gt(0).lt(1).default(0.2),
  })
  .strict();

export const augmentationSchema = z
  .object({
    /** Undefined: 0.08 above 32 px ([SimCLR] App. A), 0.2 at 32 px and below (./small-images.ts). */
    cropAreaMin: z.number().gt(0).max(1).optional(),
    cropAreaMax: z.number().gt(0).max(1).default(P.augmentation.cropAreaMax),
    aspectRatioMin: z.number().positive().default(P.augmentation.aspectRatioMin),
    aspectRatioMax: z.number().positive().default(P.augmentation.aspectRatioMax),
    flipProbability: probability.default(P.augmentation.flipProbability),
    /** Undefined: 1.0 for images larger than 32 px, 0.5 at 32 px and below. */
    colorStrength: z.number().min(0).optional(),
    colorJitterProbability: probability.default(P.augmentation.colorJitterProbability),
    grayscaleProbability: probability.default(P.augmentation.grayscaleProbability),
    /** Undefined: 0.5 above 32 px, 0 (off) at 32 px and below. */
    blurProbability: probability.optional(),
    blurSigmaMin: z.number().positive().default(P.augmentation.blurSigmaMin),
    blurSigmaMax: z.number().positive().default(P.augmentation.blurSigmaMax),
    /** How many epochs of views are precomputed ahead of training (bounded look-ahead K). */
    lookaheadEpochs: positiveInt.max(16).default(2),
  })
  .strict()
  .superRefine(ordered('cropAreaMin', 'cropAreaMax'))
  .superRefine(ordered('aspectRatioMin', 'aspectRatioMax'))
  .superRefine(ordered('blurSigmaMin', 'blurSigmaMax'));

export const ENCODERS = ['resnet-mini', 'resnet18', 'resnet34', 'resnet50'] as const;

export const headSchema = z
  .object({
    /** [SimCLR] Sec. 4.2: a non-linear head beats a linear one by >10 %, and no head by more. */
    type: z.enum(['nonlinear', 'linear', 'none']).default('nonlinear'),
    /** Number of dense layers: undefined = 2 for 'nonlinear' ([SimCLR]; 3 in [SimCLRv2]), 1 for 'linear'. */
    layers: positiveInt.max(8).optional(),
    /** Hidden width; undefined: the encoder's representation width. */
    hiddenDim: positiveInt.optional(),
    outputDim: positiveInt.default(P.model.projectionDim),
    batchNorm: z.boolean().default(true),
  })
  .strict()
  // The depth's default depends on the type; the output always has it, so HeadConfig.layers is a number.
  .transform(({ layers, ...head }) => ({
    ...head,
    layers: layers ?? (head.type === 'linear' ? 1 : P.model.headLayers),
  }));

export const modelSchema = z
  .object({
    encoder: z.enum(ENCODERS).default('resnet18'),
    widthMultiplier: z.number().positive().max(8).default(1),
    /** 'cifar': 3×3 stride-1 conv, no max-pool; 'imagenet': 7×7 stride-2 conv + max-pool; auto: cifar at ≤ 64 px (defaults.ts). */
    stem: z.enum(['auto', 'cifar', 'imagenet']).default('auto'),
    head: headSchema.prefault({}),
  })
  .strict();

export const OPTIMIZERS = ['lars', 'sgd', 'adam'] as const;

export const pretrainSchema = z
  .object({
    epochs: positiveInt.default(P.pretrain.epochs),
    batchSize: positiveInt.default(P.pretrain.batchSize),
    optimizer: z.enum(OPTIMIZERS).default(P.pretrain.optimizer),
    /**
     * Base learning rate; the effective one is base × batch/256 (linear) or base × √batch (sqrt).
     * Undefined: the paper's base for the scaling rule, 0.3 (linear, none) or 0.075 (sqrt); see resolve.ts.
     */
    learningRate: z.number().positive().optional(),
    /** Undefined: 'linear' above 32 px ([SimCLR] Sec. 2.3), 'sqrt' at 32 px and below (./small-images.ts). */
    learningRateScaling: z.enum(['linear', 'sqrt', 'none']).optional(),
    weightDecay: z.number().min(0).default(P.pretrain.weightDecay),
    momentum: z.number().min(0).lt(1).default(P.pretrain.momentum),
    trustCoefficient: z.number().positive().default(P.pretrain.trustCoefficient),
    /** Undefined: 10 epochs ([SimCLR] Sec. 2.3), or a tenth of the training when that is shorter. */
    warmupEpochs: z.number().min(0).optional(),
    /** Undefined: 0.1 above 32 px, 0.5 at 32 px and below. */
    temperature: z.number().positive().optional(),
    /** Write a checkpoint every N steps (and always at the end of an epoch). */
    checkpointEverySteps: positiveInt.default(200),
    /** Evaluate the kNN monitor every N epochs (0 = never during pretraining). */
    knnEveryEpochs: z.number().int().min(0).default(1),
    /**
     * Epochs one run of the pretrain-loop workflow handles before it continues as new, which keeps its
     * event history small over long trainings (orchestration only: the weights do not depend on it).
     */
    epochsPerRun: z.number().int().positive().default(25),
    /**
     * Which checkpoints pretraining keeps; the others are deleted after each checkpoint commit
     * (simclr/checkpoint-retention.ts). The newest `keepLast`, the end of every `keepEveryEpochs`-th
     * epoch (1-based: 5 keeps the ends of epochs 5, 10, …) and always the final one.
     */
    checkpointRetention: z
      .object({
        keepLast: positiveInt.default(STORAGE_DEFAULTS.checkpointRetention.keepLast),
        keepEveryEpochs: z
          .number()
          .int()
          .min(0)
          .default(STORAGE_DEFAULTS.checkpointRetention.keepEveryEpochs),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const fineTuneSchema = z
  .object({
    labelFractions: z.array(z.number().gt(0).max(1)).default([...P.fineTune.labelFractions]),
    epochs: positiveInt.default(P.fineTune.epochs),
    batchSize: positiveInt.default(256),
    optimizer: z.enum(OPTIMIZERS).default('sgd'),
    learningRate: z.number().positive().default(P.fineTune.learningRate),
    weightDecay: z.number().min(0).default(P.fineTune.weightDecay),
    momentum: z.number().min(0).lt(1).default(P.fineTune.momentum),
    /** Which head layer fine-tuning starts from: 0 = the encoder output ([SimCLRv2] uses 1). */
    fromHeadLayer: z.number().int().min(0).default(P.model.fineTuneFromHeadLayer),
  })
  .strict();

export const evaluationSchema = z
  .object({
    linear: z
      .object({
        epochs: positiveInt.default(P.linearEval.epochs),
        batchSize: positiveInt.default(256),
        learningRate: z.number().positive().default(P.linearEval.learningRate),
        weightDecay: z.number().min(0).default(P.linearEval.weightDecay),
        momentum: z.number().min(0).lt(1).default(P.linearEval.momentum),
      })
      .strict()
      .prefault({}),
    knn: z
      .object({
        k: positiveInt.default(P.knn.k),
        temperature: z.number().positive().default(P.knn.temperature),
      })
      .strict()
      .prefault({}),
    /** Also evaluate a randomly initialised encoder of the same architecture, as the baseline. */
    randomInitBaseline: z.boolean().default(true),
    /**
     * The other baselines every report sets SimCLR against (defaults.ts says why each is on); the
     * random-init encoder keeps its own switch, `randomInitBaseline`, as experiment files have it.
     */
    baselines: z
      .object({
        /** Linear evaluation and kNN on the raw pixels, with the encoders' protocols. */
        pixels: z.boolean().default(P.baselines.pixels),
        /** The encoder trained from random init with all labels for pretrain.epochs (the upper bound). */
        supervised: z.boolean().default(P.baselines.supervised),
        /** Training from scratch on each fineTune.labelFractions subset, with the fine-tuning settings. */
        scratchFineTune: z.boolean().default(P.baselines.scratchFineTune),
        /** Base learning rate (× batch/256) of both trainings from random init; the rest is fineTune.*. */
        fromScratchLearningRate: z.number().positive().default(P.baselines.fromScratchLearningRate),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/**
 * How long an activity attempt may go without a heartbeat before Temporal gives it to another worker.
 * Absent (the default): 60 s for a pretraining epoch, 2 minutes for every other activity
 * (workflows/activity-proxies.ts). Shorter values notice a lost worker sooner, at the risk of retrying an
 * attempt that is only slow (a heartbeat must arrive within it even on a loaded machine); the fault
 * tests (test/faults) use them to keep their wall time small. Orchestration only: it changes neither
 * the trajectory nor any id. At least 5 s, more than twice the workers' 2 s heartbeat throttle.
 */
export const orchestrationSchema = z
  .object({
    /** Heartbeat timeout of pretrainEpoch, in seconds (default 60). */
    pretrainHeartbeatTimeoutSeconds: z.number().min(5).max(86_400).optional(),
    /** Heartbeat timeout of the other activities (data, fine-tuning, evaluation), in seconds (default 120). */
    heartbeatTimeoutSeconds: z.number().min(5).max(86_400).optional(),
  })
  .strict();

/** The name of an experiment or a sweep: it starts run ids and store folders. */
export const nameSchema = z
  .string()
  .regex(
    /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/,
    'letters, digits, ".", "_" and "-" only, at most 64 characters',
  );

export const experimentSchema = z
  .object({
    name: nameSchema,
    description: z.string().optional(),
    seed: z.number().int().min(0).default(0),
    backend: z.enum(['auto', 'tensorflow', 'tensorflow-gpu', 'wasm', 'cpu']).default('auto'),
    dataset: datasetSchema,
    augmentation: augmentationSchema.prefault({}),
    model: modelSchema.prefault({}),
    pretrain: pretrainSchema.prefault({}),
    fineTune: fineTuneSchema.prefault({}),
    evaluation: evaluationSchema.prefault({}),
    /** Optional (no default object), so configs without it, and recorded histories, stay as they were. */
    orchestration: orchestrationSchema.optional(),
  })
  .strict();

/** The experiment file as written (before defaults). */
export type ExperimentInput = z.input<typeof experimentSchema>;
/** The experiment after defaults; size-dependent values may still be undefined (see resolve.ts). */
export type ExperimentConfig = z.output<typeof experimentSchema>;
export type DatasetConfig = ExperimentConfig['dataset'];
export type AugmentationConfig = ExperimentConfig['augmentation'];
export type ModelConfig = ExperimentConfig['model'];
export type HeadConfig = ModelConfig['head'];
export type PretrainConfig = ExperimentConfig['pretrain'];
export type FineTuneConfig = ExperimentConfig['fineTune'];
export type EvaluationConfig = ExperimentConfig['evaluation'];
export type BaselinesConfig = EvaluationConfig['baselines'];
export type OrchestrationConfig = z.output<typeof orchestrationSchema>;
export type Encoder = (typeof ENCODERS)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];

/**
 * Fills the defaults that depend on the data, once the image size and channels are known. Above 32 px
 * they are the paper's ImageNet setup (App. A, Sec. 2.3); at 32 px and below the small-image defaults
 * of ./small-images.ts, measured on this pipeline (the paper's CIFAR-10 setup, App. B.9, with a wider
 * crop, a higher learning rate, stronger jitter on grayscale and τ 0.2):
 *
 * | setting                          | side ≤ 32 px                 | side > 32 px (ImageNet)  |
 * |----------------------------------|------------------------------|--------------------------|
 * | augmentation.cropAreaMin         | 0.2                          | 0.08                     |
 * | augmentation.colorStrength       | 1.0 (1 channel), 0.5 (RGB)   | 1.0                      |
 * | augmentation.blurProbability     | 0 (no blur)                  | 0.5                      |
 * | pretrain.learningRateScaling     | sqrt                         | linear                   |
 * | pretrain.learningRate (LARS)     | 0.6 (× √batch)               | 0.3 (× batch/256)        |
 * | pretrain.temperature             | 0.2                          | 0.1                      |
 * | model.stem ('auto')              | cifar up to 64 px            | imagenet above 64 px     |
 *
 * and, for every size: pretrain.warmupEpochs = 10, or a tenth of pretrain.epochs when that is shorter
 * (the paper warms up 10 of 100 epochs); dataset.channels from the source; model.head.hiddenDim = the
 * encoder's representation width (resnet-mini 64·w, resnet18/34 512·w, resnet50 2048·w, as the
 * reference's head keeps the input width); the base learning rate when unset: the rule's base for
 * LARS and SGD (linear 0.3, sqrt 0.075, or the small-image base), 0.001 for Adam; and the effective
 * (peak) learning rate base × batch/256 (linear), base × √batch (sqrt) or base (none). Values set in
 * the file always win. Pure: safe in workflows.
 *
 * @example
 *   const r = resolveExperiment(cfg, { imageSize: 28, channels: 1 });
 *   r.pretrain.temperature;           // 0.2
 *   r.pretrain.effectiveLearningRate; // 0.6 × √256 = 9.6 at batch 256
 */
import { PAPER_DEFAULTS as P } from './defaults';
import { ConfigError } from './errors';
import type {
  AugmentationConfig,
  DatasetConfig,
  Encoder,
  ExperimentConfig,
  HeadConfig,
  ModelConfig,
  PretrainConfig,
} from './schema';
import { combinationIssues } from './validate';
import { SMALL_IMAGE_DEFAULTS as S } from './small-images';
import { effectiveLearningRate } from '../simclr/schedule';

type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** `T` with the optional keys `K` made required and never undefined. */
type WithRequired<T, K extends keyof T> = Simplify<Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> }>;

/** What the data provides: the side of the square images the network sees and their channels. */
export interface SourceShape {
  imageSize: number;
  channels: 1 | 3;
}

/** The experiment with every data-dependent default filled: the types come from the schema's. */
export type ResolvedExperiment = Simplify<
  Omit<ExperimentConfig, 'dataset' | 'augmentation' | 'model' | 'pretrain'> & {
    dataset: WithRequired<DatasetConfig, 'imageSize' | 'channels'>;
    augmentation: WithRequired<AugmentationConfig, 'cropAreaMin' | 'colorStrength' | 'blurProbability'>;
    model: Simplify<
      Omit<ModelConfig, 'stem' | 'head'> & {
        stem: Exclude<ModelConfig['stem'], 'auto'>;
        head: WithRequired<HeadConfig, 'hiddenDim'>;
      }
    >;
    pretrain: Simplify<
      WithRequired<
        PretrainConfig,
        'learningRate' | 'learningRateScaling' | 'warmupEpochs' | 'temperature'
      > & {
        /** Peak learning rate after batch-size scaling (derived; not settable in a file). */
        effectiveLearningRate: number;
      }
    >;
  }
>;

/** Last stage width and block expansion per encoder, as simclr/resnet.ts builds them (a test keeps the two equal). */
const LAST_STAGE: Record<Encoder, { width: number; expansion: number }> = {
  'resnet-mini': { width: 64, expansion: 1 },
  resnet18: { width: 512, expansion: 1 },
  resnet34: { width: 512, expansion: 1 },
  resnet50: { width: 512, expansion: 4 },
};

/** Width of the representation h (global-average-pool output): 64·w, 512·w, 512·w, 2048·w. */
export function encoderRepresentationWidth(encoder: Encoder, widthMultiplier: number): number {
  const { width, expansion } = LAST_STAGE[encoder];
  return Math.max(1, Math.round(width * widthMultiplier)) * expansion;
}

/** True when `side` gets the paper's CIFAR-10 setup (colour 0.5, no blur, τ = 0.5). */
export function isSmallImage(side: number): boolean {
  return side <= P.imageSize.smallImageMaxSide;
}

/** The stem for 'auto': the CIFAR stem up to 64 px, the ImageNet stem above. */
export function autoStem(side: number): 'cifar' | 'imagenet' {
  return side <= P.imageSize.cifarStemMaxSide ? 'cifar' : 'imagenet';
}

/**
 * The base learning rate when the file sets none: Adam's usual 0.001 (Kingma & Ba; the paper's rates are
 * for LARS); for LARS and SGD the small-image base at ≤ 32 px with the square-root rule, else the
 * paper's base for the rule, 0.3 (linear, none) or 0.075 (sqrt).
 */
export function defaultBaseLearningRate(
  optimizer: PretrainConfig['optimizer'],
  scaling: NonNullable<PretrainConfig['learningRateScaling']>,
  small: boolean,
): number {
  if (optimizer === 'adam') return ADAM_LEARNING_RATE;
  if (small && scaling === S.pretrain.learningRateScaling) return S.pretrain.learningRate;
  return scaling === 'sqrt' ? P.pretrain.sqrtLearningRate : P.pretrain.learningRate;
}

/** Adam's customary learning rate (tf.keras' default). */
const ADAM_LEARNING_RATE = 0.001;

/** Warm-up epochs when the file sets none: the paper's 10, or a tenth of the training when shorter. */
export function defaultWarmupEpochs(epochs: number): number {
  return Math.min(P.pretrain.warmupEpochs, epochs * P.pretrain.warmupFraction);
}

/**
 * Resolves `cfg` for data of the given shape. Throws a ConfigError for a bad source shape or for
 * settings that cannot work together (validate.ts).
 */
export function resolveExperiment(cfg: ExperimentConfig, source: SourceShape): ResolvedExperiment {
  const where = `experiment '${cfg.name}'`;
  if (!Number.isInteger(source.imageSize) || source.imageSize <= 0) {
    throw new ConfigError(where, [
      {
        path: 'dataset.imageSize',
        message: `expected the source's image side as a positive integer, found ${source.imageSize}`,
      },
    ]);
  }
  if (source.channels !== 1 && source.channels !== 3) {
    throw new ConfigError(where, [
      {
        path: 'dataset.channels',
        message: `expected the source's channels to be 1 or 3, found ${String(source.channels)}`,
      },
    ]);
  }
  const issues = combinationIssues(cfg);
  if (issues.length > 0) throw new ConfigError(where, issues);

  const side = source.imageSize;
  const small = isSmallImage(side);
  const a = P.augmentation;
  const scaling =
    cfg.pretrain.learningRateScaling ??
    (small ? S.pretrain.learningRateScaling : P.pretrain.learningRateScaling);
  const learningRate =
    cfg.pretrain.learningRate ?? defaultBaseLearningRate(cfg.pretrain.optimizer, scaling, small);
  const cropAreaMin = cfg.augmentation.cropAreaMin ?? (small ? S.augmentation.cropAreaMin : a.cropAreaMin);
  if (cropAreaMin > cfg.augmentation.cropAreaMax) {
    throw new ConfigError(where, [
      {
        path: 'augmentation.cropAreaMax',
        message: `expected at least cropAreaMin (${cropAreaMin}${cfg.augmentation.cropAreaMin === undefined ? ', the default for this image size' : ''}), found ${cfg.augmentation.cropAreaMax}`,
      },
    ]);
  }
  const channels = cfg.dataset.channels ?? source.channels;
  const smallColorStrength =
    channels === 1 ? S.augmentation.colorStrengthGray : S.augmentation.colorStrengthRgb;
  return {
    ...cfg,
    dataset: { ...cfg.dataset, imageSize: side, channels },
    augmentation: {
      ...cfg.augmentation,
      cropAreaMin,
      colorStrength: cfg.augmentation.colorStrength ?? (small ? smallColorStrength : a.colorStrength),
      blurProbability:
        cfg.augmentation.blurProbability ?? (small ? S.augmentation.blurProbability : a.blurProbability),
    },
    model: {
      ...cfg.model,
      stem: cfg.model.stem === 'auto' ? autoStem(side) : cfg.model.stem,
      head: {
        ...cfg.model.head,
        hiddenDim:
          cfg.model.head.hiddenDim ??
          encoderRepresentationWidth(cfg.model.encoder, cfg.model.widthMultiplier),
      },
    },
    pretrain: {
      ...cfg.pretrain,
      learningRate,
      learningRateScaling: scaling,
      warmupEpochs: cfg.pretrain.warmupEpochs ?? defaultWarmupEpochs(cfg.pretrain.epochs),
      temperature: cfg.pretrain.temperature ?? (small ? S.pretrain.temperature : P.pretrain.temperature),
      effectiveLearningRate: effectiveLearningRate(learningRate, cfg.pretrain.batchSize, scaling),
    },
  };
}

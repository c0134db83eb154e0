/**
 * The model card of an exported encoder (`simclr export`): `model-card.json` next to the exported
 * models, with a Markdown rendering in `MODEL_CARD.md`. It says what the model is, exactly how to feed
 * it (`input`: the preprocessing a user applies to raw pixels), where it came from (run, checkpoint,
 * config hash, code version, training data) and what it is worth (the run's evaluation). `simclr embed`
 * reads it to know the input an exported model expects. Imported by path (not re-exported by
 * contracts/index.ts, which the workflow bundle loads and which stays free of zod).
 *
 * An export folder:
 *
 *     DIR/encoder/model.json, weights.bin   x [N, H, W, C] → h [N, representationDim] (tf.loadLayersModel)
 *     DIR/head/model.json, weights.bin      h → z [N, head.outputDim]        (with --with-head only)
 *     DIR/savedmodel/encoder/…              the encoder as a Keras SavedModel (--format savedmodel only)
 *     DIR/model-card.json, DIR/MODEL_CARD.md
 *
 * @example
 *   const card = parseModelCard(JSON.parse(await readFile(join(dir, MODEL_CARD_JSON), 'utf8')), dir);
 *   const f = await tf.loadLayersModel(`file://${join(dir, card.files.encoder)}`);
 */
import { z } from 'zod';

export const MODEL_CARD_FORMAT = 'simclr-model-card';
export const MODEL_CARD_VERSION = 1;
/** File names inside an export folder. */
export const MODEL_CARD_JSON = 'model-card.json';
export const MODEL_CARD_MD = 'MODEL_CARD.md';

export const EXPORT_FORMATS = ['tfjs', 'savedmodel'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const positiveInt = z.number().int().positive();
const count = z.number().int().min(0);
const accuracy = z.number().min(0).max(1);
const accuracyPair = z.object({ top1: accuracy, top5: accuracy });

/**
 * What the encoder expects, and how to get there from raw pixels:
 *
 *     decode → resize (shorter side to `height`, centre crop to height × width) → `colorSpace` with
 *     `channels` channels → uint8 HWC → x = (pixel · scale − mean[c]) / std[c] → float32 [N, H, W, C]
 *
 * The project trains and evaluates on x = pixel / 255 (mean 0, std 1: no mean/std normalisation, as
 * the SimCLR reference implementation), so `scale` is 1/255, `mean` all 0 and `std` all 1 today.
 */
export const inputSpecSchema = z.object({
  height: positiveInt,
  width: positiveInt,
  channels: z.union([z.literal(1), z.literal(3)]),
  layout: z.literal('NHWC'),
  dtype: z.literal('float32'),
  /** 'grayscale' for 1 channel (libvips' colorimetric grey), 'srgb' for 3. */
  colorSpace: z.enum(['grayscale', 'srgb']),
  /** Multiplies the uint8 pixel value (1/255: values in [0, 1]). */
  scale: z.number().positive(),
  /** Subtracted per channel after scaling (length `channels`). */
  mean: z.array(z.number()),
  /** Divides per channel after subtracting the mean (length `channels`). */
  std: z.array(z.number().positive()),
  /** How the training images were resized, in words (do the same to new images). */
  resize: z.string(),
});
export type InputSpec = z.infer<typeof inputSpecSchema>;

export const modelCardSchema = z.object({
  format: z.literal(MODEL_CARD_FORMAT),
  version: z.literal(MODEL_CARD_VERSION),
  /** When the export was made (ISO 8601). */
  exportedAt: z.iso.datetime({ offset: true }),
  /** 'tfjs' (layers models only) or 'savedmodel' (layers models + a Keras SavedModel of the encoder). */
  exportFormat: z.enum(EXPORT_FORMATS),
  /** Paths relative to the export folder. */
  files: z.object({
    /** The encoder's tfjs layers model.json: x → h. */
    encoder: z.string().min(1),
    /** The projection head's model.json (h → z), with --with-head. */
    head: z.string().min(1).optional(),
    /** The encoder as a Keras SavedModel folder, with --format savedmodel. */
    savedModel: z.string().min(1).optional(),
    /** The head as a Keras SavedModel folder, with --format savedmodel and --with-head. */
    savedModelHead: z.string().min(1).optional(),
  }),
  architecture: z.object({
    /** 'resnet-mini', 'resnet18', 'resnet34', 'resnet50'. */
    encoder: z.string().min(1),
    widthMultiplier: z.number().positive(),
    stem: z.enum(['cifar', 'imagenet']),
    /** Width d of h, the encoder output (its global average pool). */
    representationDim: positiveInt,
    /** The projection head g as trained (exported only with --with-head). */
    head: z.object({
      type: z.string().min(1),
      layers: count,
      hiddenDim: positiveInt.optional(),
      outputDim: positiveInt,
      batchNorm: z.boolean(),
    }),
    /** Standard Keras layers only (Conv2D, BatchNormalization, Activation, ...): no project code needed. */
    layers: z.literal('standard'),
  }),
  input: inputSpecSchema,
  /** Where the weights come from. */
  source: z.object({
    /** The experiment (run) id, when the checkpoint belongs to one. */
    experimentId: z.string().min(1).optional(),
    /** The checkpoint's key in its store. */
    checkpoint: z.string().min(1),
    /** The store's location (never credentials). */
    storeLocation: z.string().min(1),
    globalStep: count,
    /** Completed epochs at the checkpoint. */
    epoch: count,
    /** config/fingerprint.ts over the training configuration (the checkpoint manifest's configHash). */
    configHash: z.string().min(1),
    /** When the checkpoint was written (ISO 8601). */
    checkpointCreatedAt: z.string().min(1),
    /** Last numbers recorded with the checkpoint (loss...). */
    checkpointMetrics: z.record(z.string(), z.number()).optional(),
  }),
  /** What the encoder was pretrained on; absent when the run has no report (yet). */
  trainingData: z
    .object({
      datasetId: z.string().min(1),
      source: z.string(),
      format: z.string(),
      trainImages: count,
      testImages: count,
      classNames: z.array(z.string()),
    })
    .optional(),
  codeVersion: z.object({
    /** The code that trained the run, when the run recorded it (scheduled runs' lineage). */
    training: z.string().min(1).optional(),
    /** The code that made this export (activities/code-version.ts). */
    export: z.string().min(1),
  }),
  /**
   * The run's evaluation (its report.json results), absent when there is none. Accuracies in [0, 1].
   * Valid for this checkpoint only when `evaluatedCheckpoint` says so.
   */
  evaluation: z
    .object({
      /** true when the checkpoint exported is the run's final one, the one its report evaluated. */
      evaluatedCheckpoint: z.boolean(),
      linear: accuracyPair,
      knn: accuracyPair.extend({ k: positiveInt.optional() }),
      fineTune: z.array(accuracyPair.extend({ fraction: z.number().gt(0).max(1) })),
      /** The random-init encoder of the same architecture, under the same protocols. */
      randomInit: z.object({ linear: accuracyPair, knn: accuracyPair }).optional(),
    })
    .optional(),
});
export type ModelCard = z.infer<typeof modelCardSchema>;

/** Parses a model card, with an error naming `source` (e.g. the file) and the bad fields. */
export function parseModelCard(json: unknown, source = 'model card'): ModelCard {
  const parsed = modelCardSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${source} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The model card of an export (contracts/model-card.ts): built from the checkpoint's manifest and its
 * run's report.json, and rendered as Markdown (MODEL_CARD.md) for people. The JSON is the source; the
 * Markdown says the same in prose and tables, with a loading snippet that needs only @tensorflow/tfjs.
 *
 * @example
 *   const card = buildModelCard({ checkpoint, manifest, model, report, ... });
 *   await writeFile(join(dir, MODEL_CARD_MD), modelCardMarkdown(card));
 */
import {
  MODEL_CARD_FORMAT,
  MODEL_CARD_VERSION,
  modelCardSchema,
  type ExportFormat,
  type InputSpec,
  type ModelCard,
} from '../contracts/model-card';
import type { RunReport } from './report';
import { pct } from './html';

export interface ModelCardInput {
  exportFormat: ExportFormat;
  files: ModelCard['files'];
  architecture: Omit<ModelCard['architecture'], 'layers'>;
  input: InputSpec;
  source: ModelCard['source'];
  /** The run's report.json, when it has one. */
  report?: RunReport;
  /** Whether the checkpoint is the one the report evaluated (its run's newest). */
  evaluatedCheckpoint: boolean;
  /** activities/code-version.ts of the exporting process. */
  exportCodeVersion: string;
  exportedAt?: Date;
}

/** The card (validated by its schema, so a card that would not parse is never written). */
export function buildModelCard(input: ModelCardInput): ModelCard {
  const r = input.report;
  const results = r?.results;
  return modelCardSchema.parse({
    format: MODEL_CARD_FORMAT,
    version: MODEL_CARD_VERSION,
    exportedAt: (input.exportedAt ?? new Date()).toISOString(),
    exportFormat: input.exportFormat,
    files: input.files,
    architecture: { ...input.architecture, layers: 'standard' },
    input: input.input,
    source: input.source,
    trainingData: r && {
      datasetId: r.dataset.datasetId,
      source: r.dataset.source,
      format: r.dataset.format,
      trainImages: r.dataset.splits.train.count,
      testImages: r.dataset.splits.test.count,
      classNames: r.dataset.classNames,
    },
    codeVersion: { training: r?.lineage?.codeVersion, export: input.exportCodeVersion },
    evaluation: results && {
      evaluatedCheckpoint: input.evaluatedCheckpoint,
      linear: results.linear,
      knn: results.knn,
      fineTune: results.fineTune.map(({ fraction, top1, top5 }) => ({ fraction, top1, top5 })),
      randomInit: results.baseline,
    },
  });
}

const code = (s: string | number) => `\`${s}\``;

function inputLines(i: InputSpec): string[] {
  const perChannel = (v: number[]) => (v.every((x) => x === v[0]) ? String(v[0]) : `[${v.join(', ')}]`);
  return [
    `- Shape: ${code(`[N, ${i.height}, ${i.width}, ${i.channels}]`)} (${i.layout}), ${i.dtype}, ${i.colorSpace === 'grayscale' ? '1 channel (grey)' : '3 channels (sRGB)'}.`,
    `- Resize: ${i.resize}.`,
    `- Values: ${code(`x = (pixel * ${i.scale.toPrecision(6)} - mean) / std`)} with mean ${perChannel(i.mean)}, std ${perChannel(i.std)}` +
      (i.scale === 1 / 255 && i.mean.every((m) => m === 0) && i.std.every((s) => s === 1)
        ? ': uint8 pixels divided by 255, values in [0, 1], no mean/std normalisation.'
        : '.'),
  ];
}

function evaluationLines(card: ModelCard): string[] {
  const ev = card.evaluation;
  if (!ev) return ['No evaluation: the run has no report (yet).'];
  const rows: [string, { top1: number; top5: number }, { top1: number; top5: number } | undefined][] = [
    ['Linear evaluation (frozen features, all labels)', ev.linear, ev.randomInit?.linear],
    [`kNN${ev.knn.k ? ` (k = ${ev.knn.k})` : ''}`, ev.knn, ev.randomInit?.knn],
    ...ev.fineTune.map((f): [string, { top1: number; top5: number }, undefined] => [
      `Fine-tuned on ${pct(f.fraction).replace(/\.00 %$/, ' %')} of the labels`,
      f,
      undefined,
    ]),
  ];
  return [
    ev.evaluatedCheckpoint
      ? 'The run report evaluated this checkpoint (test split):'
      : "**Not this checkpoint's numbers**: the run report evaluated the run's final checkpoint; this is an earlier one.",
    '',
    '| Protocol | Top-1 | Top-5 | Random-init encoder top-1 |',
    '| --- | --- | --- | --- |',
    ...rows.map(([name, a, b]) => `| ${name} | ${pct(a.top1)} | ${pct(a.top5)} | ${b ? pct(b.top1) : '—'} |`),
  ];
}

/** The card as Markdown for people. */
export function modelCardMarkdown(card: ModelCard): string {
  const a = card.architecture;
  const s = card.source;
  const d = card.trainingData;
  const head = a.head;
  const headText =
    head.type === 'none'
      ? 'none'
      : `${head.type}, ${head.layers} dense layer(s)${head.hiddenDim ? `, hidden ${head.hiddenDim}` : ''}, output ${head.outputDim}${head.batchNorm ? ', batch norm' : ''}`;
  const lines = [
    `# SimCLR encoder${s.experimentId ? ` of run ${code(s.experimentId)}` : ''}`,
    '',
    `Exported ${card.exportedAt} as ${card.exportFormat === 'savedmodel' ? 'TensorFlow.js layers models and a Keras SavedModel' : 'TensorFlow.js layers models'}.`,
    '',
    '## Files',
    '',
    `- ${code(card.files.encoder)}: the encoder f, images → representation h ${code(`[N, ${a.representationDim}]`)} (global average pool).`,
    ...(card.files.head
      ? [
          `- ${code(card.files.head)}: the projection head g, h → z ${code(`[N, ${head.outputDim}]`)} (the space of the contrastive loss; for downstream tasks use h).`,
        ]
      : []),
    ...(card.files.savedModel
      ? [`- ${code(card.files.savedModel)}: the encoder as a Keras SavedModel (TensorFlow / TF Serving).`]
      : []),
    ...(card.files.savedModelHead
      ? [`- ${code(card.files.savedModelHead)}: the projection head as a Keras SavedModel.`]
      : []),
    `- ${code('model-card.json')}: this card, machine-readable.`,
    '',
    '## Architecture',
    '',
    `- Encoder: ${a.encoder}, width ×${a.widthMultiplier}, ${a.stem} stem; representation dimension ${a.representationDim}.`,
    `- Projection head (as trained): ${headText}.`,
    '- Standard Keras layers only (Conv2D, BatchNormalization, Activation, Add, pooling): loads with a plain TensorFlow.js, no custom code.',
    '- Batch norm uses its moving statistics: call the model for inference (`predict`), not to train.',
    '',
    '## Input: what to do to raw pixels',
    '',
    ...inputLines(card.input),
    '',
    '## Training',
    '',
    ...(d
      ? [
          `- Data: dataset ${code(d.datasetId)} (${d.format}, ${code(d.source)}): ${d.trainImages} training images, ${d.testImages} test images, ${d.classNames.length} classes (${d.classNames.slice(0, 10).join(', ')}${d.classNames.length > 10 ? ', …' : ''}); pretraining used no labels.`,
        ]
      : ['- Data: unknown (the run has no report.json yet).']),
    `- Checkpoint: ${code(s.checkpoint)} in ${code(s.storeLocation)}, step ${s.globalStep}, epoch ${s.epoch}, written ${s.checkpointCreatedAt}.`,
    `- Config hash: ${code(s.configHash)}.`,
    `- Code version: training ${card.codeVersion.training ? code(card.codeVersion.training) : 'not recorded (only scheduled runs record it)'}; export ${code(card.codeVersion.export)}.`,
    '',
    '## Evaluation',
    '',
    ...evaluationLines(card),
    '',
    '## Loading it',
    '',
    '```js',
    '// Node: @tensorflow/tfjs-node reads file:// URLs; a browser (or plain @tensorflow/tfjs) loads over http(s).',
    "const tf = require('@tensorflow/tfjs-node');",
    `const f = await tf.loadLayersModel('file:///path/to/DIR/${card.files.encoder}'); // browser: 'https://…/${card.files.encoder}'`,
    `const x = tf.tensor4d(uint8Pixels, [n, ${card.input.height}, ${card.input.width}, ${card.input.channels}], 'float32').div(255);`,
    `const h = f.predict(x); // [n, ${a.representationDim}]`,
    '```',
    ...(card.files.savedModel
      ? [
          '',
          '```python',
          '# A Keras 2 (tf_keras) SavedModel; plain TensorFlow: tf.saved_model.load(path).signatures["serving_default"]',
          '# (input encoder_input, output encoder_avg_pool), which TF Serving serves as is.',
          'import tf_keras',
          `f = tf_keras.models.load_model("DIR/${card.files.savedModel}")`,
          `h = f.predict(uint8_pixels.reshape(-1, ${card.input.height}, ${card.input.width}, ${card.input.channels}).astype("float32") / 255)`,
          '```',
        ]
      : []),
    '',
  ];
  return lines.join('\n');
}

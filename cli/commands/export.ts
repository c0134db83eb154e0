/**
 * `simclr export <run|checkpoint> --out DIR`: a trained encoder as a TensorFlow.js layers model that a
 * bare `tf.loadLayersModel` loads (Node or browser, no project code: simclr/portable-model.ts rewrites
 * the project's training layers to standard ones, same weights), with its model card (JSON + Markdown,
 * contracts/model-card.ts) and optionally the projection head and a Keras SavedModel. Reads the store
 * only; needs no Temporal.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { codeVersion } from '../../activities/code-version';
import {
  EXPORT_FORMATS,
  MODEL_CARD_JSON,
  MODEL_CARD_MD,
  type ExportFormat,
  type ModelCard,
} from '../../contracts/model-card';
import { storeUriFromEnv } from '../../infra/paths';
import {
  findTfjsConverter,
  layersModelToSavedModel,
  missingConverterMessage,
} from '../../infra/tfjs-converter';
import { buildModelCard, modelCardMarkdown } from '../../report/model-card';
import { parseRunReport, type RunReport } from '../../report/report';
import { initBackend } from '../../simclr/backend';
import { blobStoreIOHandler } from '../../simclr/checkpoint';
import {
  checkpointModel,
  EncoderNotFoundError,
  type CheckpointModel,
  loadEncoder,
  loadHead,
  resolveEncoderSource,
  type EncoderSource,
} from '../../simclr/encoder-source';
import { BlobNotFoundError, InvalidKeyError, type BlobStore } from '../../storage/blob-store';
import { FsBlobStore } from '../../storage/fs-store';
import { reportKeys } from '../../storage/layout';
import { openStore } from '../../storage/open';
import { redact } from '../../storage/redact';
import { COMMON_OPTIONS, parseCommand, positionals } from '../args';
import { CliError, EXIT_OK, EXIT_USAGE, type Output } from '../output';

export const usage = `usage: simclr export <run|checkpoint> --out DIR [--format tfjs|savedmodel] [--with-head] [--force] [--store URI] [--json]

  Writes a trained encoder as a TensorFlow.js layers model (standard layers: plain tf.loadLayersModel
  loads it in Node or a browser) with its model card:
    DIR/encoder/model.json + weights.bin   images [N, H, W, C] → representation h [N, d]
    DIR/head/model.json + weights.bin      h → z, the projection head (--with-head)
    DIR/savedmodel/encoder (and head)      Keras SavedModels (--format savedmodel)
    DIR/model-card.json, DIR/MODEL_CARD.md architecture, input preprocessing, training data, results

  <run|checkpoint>      a run (experiment) id: its final checkpoint; or a checkpoint key in the store
                        (experiments/<id>/checkpoints/step-00000120); or a checkpoint folder on disk;
                        or models/<schedule>: the schedule's current (promoted) model
  --out DIR             the folder to write (created; must be empty unless --force)
  --format F            tfjs (default) or savedmodel (also a SavedModel: needs TensorFlow.js' Python
                        converter, infra/setup-tfjs-converter.sh)
  --with-head           also export the projection head, as a second model (h → z)
  --force               replace an earlier export in DIR (its own files only; others are kept)
  --store URI           the store (default $SIMCLR_STORE, else the filesystem store under $SIMCLR_HOME)
  --json                print exactly one JSON document on stdout`;

/** What an export writes into DIR, which --force replaces (and nothing else). */
const EXPORT_ENTRIES = [MODEL_CARD_JSON, MODEL_CARD_MD, 'encoder', 'head', 'savedmodel'];

/** Checks --out: a folder that is absent, empty, or (with --force) cleared of an earlier export's files. */
async function prepareOut(dir: string, force: boolean): Promise<void> {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CliError(`--out ${dir} is a file, not a folder`, EXIT_USAGE);
    const entries = await readdir(dir);
    if (entries.length > 0) {
      if (!force) {
        const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? ', …' : '');
        throw new CliError(
          `--out ${dir} is not empty (${shown}); give --force to replace the export there, or another folder`,
          EXIT_USAGE,
        );
      }
      // The card first: a folder without it is no export, so a crash below never leaves a stale one.
      for (const name of EXPORT_ENTRIES) await rm(join(dir, name), { recursive: true, force: true });
    }
  }
  await mkdir(dir, { recursive: true });
}

/** A path for people: relative to the working folder when inside it, else absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

/** The run's report.json, when it has one (undefined without, or when unreadable: a note says why). */
async function readReport(
  store: BlobStore,
  experimentId: string | undefined,
  out: Output,
): Promise<RunReport | undefined> {
  if (experimentId === undefined) return undefined;
  const key = reportKeys(experimentId).reportJson;
  try {
    return parseRunReport(JSON.parse((await store.get(key)).toString('utf8')), key);
  } catch (err) {
    if (!(err instanceof BlobNotFoundError))
      out.note(`the card has no evaluation or training data: ${(err as Error).message}`);
    else out.note(`run '${experimentId}' has no report yet: the card has no evaluation or training data`);
    return undefined;
  }
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    {
      ...COMMON_OPTIONS,
      out: { type: 'string' },
      format: { type: 'string' },
      'with-head': { type: 'boolean' },
      force: { type: 'boolean' },
      store: { type: 'string' },
    },
    usage,
  );
  const [ref] = positionals(pos, ['run|checkpoint'], usage);
  if (!values.out) throw new CliError(`missing --out DIR\n\n${usage}`, EXIT_USAGE);
  const format = (values.format ?? 'tfjs') as ExportFormat;
  if (!EXPORT_FORMATS.includes(format))
    throw new CliError(
      `--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${values.format}'`,
      EXIT_USAGE,
    );
  const converter = format === 'savedmodel' ? findTfjsConverter() : undefined;
  if (format === 'savedmodel' && !converter)
    throw new CliError(`cannot export --format savedmodel: ${missingConverterMessage()}`);
  const withHead = values['with-head'] ?? false;
  const dir = resolve(values.out);
  const uri = values.store ?? storeUriFromEnv();

  let source: EncoderSource;
  try {
    source = await resolveEncoderSource(ref, () =>
      openStore(uri).catch((err: Error) => {
        throw new CliError(`cannot open the store ${redact(uri)}: ${err.message}`);
      }),
    );
  } catch (err) {
    if (err instanceof EncoderNotFoundError) throw new CliError(err.message);
    if (err instanceof InvalidKeyError)
      throw new CliError(`<run|checkpoint> '${ref}': ${err.message}`, EXIT_USAGE);
    throw err;
  }
  if (source.kind === 'export')
    throw new CliError(
      `${source.dir} is already an export (it has ${MODEL_CARD_JSON}); copy the folder instead`,
    );
  const { store, key, manifest } = source;
  if (store instanceof FsBlobStore && (dir === store.root || dir.startsWith(store.root + sep)))
    throw new CliError(
      `--out ${dir} is inside the store ${store.root}; export to a folder outside it`,
      EXIT_USAGE,
    );
  let arch: CheckpointModel;
  try {
    arch = checkpointModel(key, manifest);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  await prepareOut(dir, values.force ?? false);
  await initBackend('auto');

  out.note(`exporting ${key} (step ${manifest.globalStep}) from ${store.location} to ${dir}`);
  const report = await readReport(store, source.experimentId, out);

  const target = new FsBlobStore(dir);
  const encoder = await loadEncoder(source);
  const files: ModelCard['files'] = { encoder: 'encoder/model.json' };
  try {
    await encoder.model.save(blobStoreIOHandler(target, 'encoder'));
  } finally {
    encoder.model.dispose();
  }
  if (withHead) {
    const head = (await loadHead(source))!;
    try {
      await head.save(blobStoreIOHandler(target, 'head'));
    } finally {
      head.dispose();
    }
    files.head = 'head/model.json';
  }
  if (converter) {
    out.note(`converting to a Keras SavedModel with ${converter} (Python TensorFlow; about a minute)`);
    for (const part of withHead ? ['encoder', 'head'] : ['encoder'])
      await layersModelToSavedModel(converter, join(dir, part, 'model.json'), join(dir, 'savedmodel', part));
    files.savedModel = 'savedmodel/encoder';
    if (withHead) files.savedModelHead = 'savedmodel/head';
  }

  const card = buildModelCard({
    exportFormat: format,
    files,
    architecture: {
      encoder: arch.model.encoder,
      widthMultiplier: arch.model.widthMultiplier,
      stem: arch.model.stem,
      representationDim: encoder.representationDim,
      head: arch.model.head,
    },
    input: encoder.input,
    source: {
      experimentId: source.experimentId,
      checkpoint: key,
      storeLocation: redact(store.location),
      globalStep: manifest.globalStep,
      epoch: manifest.epoch,
      configHash: manifest.configHash,
      checkpointCreatedAt: manifest.createdAt,
      checkpointMetrics: manifest.metrics,
    },
    report,
    evaluatedCheckpoint: source.newestOfRun && report?.status === 'completed',
    exportCodeVersion: codeVersion(),
  });
  await writeFile(join(dir, MODEL_CARD_MD), modelCardMarkdown(card));
  // The JSON card last: it is what makes the folder an export (simclr/encoder-source.ts).
  await writeFile(join(dir, MODEL_CARD_JSON), JSON.stringify(card, null, 2) + '\n');

  out.document({ out: dir, card });
  out.line(`exported ${key} to ${dir}`);
  for (const f of [
    files.encoder,
    files.head,
    files.savedModel,
    files.savedModelHead,
    MODEL_CARD_JSON,
    MODEL_CARD_MD,
  ])
    if (f) out.line(`  ${shownPath(join(dir, f))}`);
  out.line(
    `encoder: ${card.architecture.encoder} ×${card.architecture.widthMultiplier}, input [N, ${card.input.height}, ${card.input.width}, ${card.input.channels}] float32 = pixels / 255, output [N, ${card.architecture.representationDim}]`,
  );
  return EXIT_OK;
}

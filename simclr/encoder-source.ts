/**
 * Where a trained encoder comes from, for everything that uses one (`simclr export`, `simclr embed`):
 * one string names it, and `loadEncoder` turns it into a ready tf.LayersModel (standard layers only,
 * inference) and the input spec its images need.
 *
 * The string, tried in this order:
 *   - a local folder with model-card.json          an export of `simclr export` (contracts/model-card.ts)
 *   - a local folder with MANIFEST.json            a checkpoint folder on disk (…/checkpoints/step-00000120);
 *                                                  inside a filesystem store's experiments/ it belongs to its run
 *   - models/<schedule>                            a schedule's current (promoted) model (models/<schedule>/CURRENT.json)
 *   - a key with '/'                               a checkpoint key in the store (experiments/e1/checkpoints/step-00000120)
 *   - anything else                                an experiment (run) id: its newest committed checkpoint,
 *                                                  the one pretraining ended with and the report evaluated
 *
 * @example
 *   const source = await resolveEncoderSource('fashion-demo', () => openStore(uri));
 *   const { model, input } = await loadEncoder(source);  // model: x [N, H, W, C] → h [N, d]
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { tf } from './backend';
import type { BlobStore } from '../storage/blob-store';
import { FsBlobStore } from '../storage/fs-store';
import { checkpointsPrefix, experimentOfKey, experimentPrefix } from '../storage/layout';
import { MANIFEST_NAME } from '../storage/manifest';
import { readCurrentModel } from '../storage/schedule-records';
import {
  CheckpointNotFoundError,
  loadLatestCheckpoint,
  readCheckpointManifest,
  type CheckpointManifest,
} from './checkpoint';
import { imageInputSpec } from './images';
import { loadPortableModel } from './portable-model';
import { MODEL_CARD_JSON, parseModelCard, type InputSpec, type ModelCard } from '../contracts/model-card';

/** An exported model folder, or a checkpoint in a store. */
export type EncoderSource =
  | { kind: 'export'; dir: string; card: ModelCard }
  | {
      kind: 'checkpoint';
      store: BlobStore;
      key: string;
      manifest: CheckpointManifest;
      /** The run the checkpoint belongs to, when its key is under experiments/<id>/. */
      experimentId?: string;
      /** true when it is its run's newest committed checkpoint (the one the run's report evaluated). */
      newestOfRun: boolean;
    };

/** The reference names no export, checkpoint or run (the message says which and where it looked). */
export class EncoderNotFoundError extends Error {
  override readonly name = 'EncoderNotFoundError';
}

/** The parts of a checkpoint's hashed config (simclr/checkpoint.ts checkpointConfig) an export reads. */
export const checkpointModelSchema = z.object({
  model: z.object({
    encoder: z.string(),
    widthMultiplier: z.number().positive(),
    stem: z.enum(['cifar', 'imagenet']),
    head: z.object({
      type: z.string(),
      layers: z.number().int().min(0),
      hiddenDim: z.number().int().positive().optional(),
      outputDim: z.number().int().positive(),
      batchNorm: z.boolean(),
    }),
  }),
  imageShape: z.object({
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
  }),
});
export type CheckpointModel = z.infer<typeof checkpointModelSchema>;

/** The architecture and image shape of a checkpoint, from its manifest; an error names the checkpoint. */
export function checkpointModel(key: string, manifest: CheckpointManifest): CheckpointModel {
  const parsed = checkpointModelSchema.safeParse(manifest.config);
  if (!parsed.success)
    throw new Error(
      `checkpoint ${key}: its manifest's config is not one of a SimCLR encoder: ${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}

async function checkpointSource(store: BlobStore, key: string): Promise<EncoderSource> {
  const manifest = await readCheckpointManifest(store, key);
  const experimentId = experimentOfKey(key);
  let newestOfRun = false;
  if (experimentId !== undefined && key.startsWith(`${checkpointsPrefix(experimentId)}/`)) {
    newestOfRun = (await loadLatestCheckpoint(store, checkpointsPrefix(experimentId)))?.key === key;
  }
  return { kind: 'checkpoint', store, key, manifest, experimentId, newestOfRun };
}

/** A local folder: an export, or a checkpoint folder (inside a filesystem store when it is one). */
async function folderSource(ref: string): Promise<EncoderSource> {
  const dir = resolve(ref);
  if (existsSync(join(dir, MODEL_CARD_JSON))) {
    const file = join(dir, MODEL_CARD_JSON);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    return { kind: 'export', dir, card: parseModelCard(json, file) };
  }
  if (!existsSync(join(dir, MANIFEST_NAME))) {
    throw new EncoderNotFoundError(
      `folder ${dir} is neither an exported model (no ${MODEL_CARD_JSON}) nor a checkpoint (no ${MANIFEST_NAME})`,
    );
  }
  // …/<store root>/experiments/<id>/checkpoints/step-N: open the store root, so the run is known.
  const parts = dir.split(sep);
  const n = parts.length;
  if (n >= 5 && parts[n - 4] === 'experiments' && parts[n - 2] === 'checkpoints') {
    const root = parts.slice(0, n - 4).join(sep) || sep;
    return checkpointSource(new FsBlobStore(root), relative(root, dir).split(sep).join('/'));
  }
  return checkpointSource(new FsBlobStore(dirname(dir)), basename(dir));
}

/**
 * Resolves `ref` (see the module comment) to an encoder source. `openStore` is called only when the
 * reference is not a local folder. Throws EncoderNotFoundError (or CheckpointNotFoundError) naming
 * what was looked for and where.
 */
export async function resolveEncoderSource(
  ref: string,
  openStore: () => Promise<BlobStore>,
): Promise<EncoderSource> {
  if (ref.trim() === '')
    throw new EncoderNotFoundError('empty model reference: give a run id, a checkpoint or a folder');
  if (existsSync(ref) && statSync(ref).isDirectory()) return folderSource(ref);
  if (ref.startsWith('.') || ref.startsWith('/') || ref.startsWith('~'))
    throw new EncoderNotFoundError(
      `no folder ${resolve(ref)} (expected an exported model or a checkpoint folder)`,
    );
  const store = await openStore();
  const schedule = /^models\/([^/]+)\/?$/.exec(ref)?.[1];
  if (schedule !== undefined) {
    const current = await readCurrentModel(store, schedule);
    if (!current)
      throw new EncoderNotFoundError(
        `schedule '${schedule}' has no current model in ${store.location} (no promotion yet; see \`simclr models ${schedule}\`)`,
      );
    return checkpointSource(store, current.checkpoint);
  }
  if (ref.includes('/')) {
    const key = ref.replace(/\/+$/, '');
    try {
      return await checkpointSource(store, key);
    } catch (err) {
      if (err instanceof CheckpointNotFoundError)
        throw new EncoderNotFoundError(
          `no committed checkpoint '${key}' in ${store.location} (nor a local folder of that name)`,
        );
      throw err;
    }
  }
  const prefix = checkpointsPrefix(ref);
  const latest = await loadLatestCheckpoint(store, prefix);
  if (!latest) {
    const anything = (await store.list(`${experimentPrefix(ref)}/`)).length > 0;
    throw new EncoderNotFoundError(
      anything
        ? `run '${ref}' has no committed checkpoint under ${prefix}/ in ${store.location} (did pretraining write one?)`
        : `unknown run '${ref}': nothing under ${experimentPrefix(ref)}/ in ${store.location} (see \`simclr list\`; --store names another store)`,
    );
  }
  return {
    kind: 'checkpoint',
    store,
    key: latest.key,
    manifest: latest.manifest,
    experimentId: ref,
    newestOfRun: true,
  };
}

export interface LoadedEncoder {
  /** x [N, H, W, C] float32 → h [N, d]; standard layers, for inference (`predict`). */
  model: tf.LayersModel;
  /** The images it expects and how to get them from raw pixels. */
  input: InputSpec;
  /** Width d of h. */
  representationDim: number;
  /** The export's card (exports only). */
  card?: ModelCard;
  /** What was loaded, for messages: the folder or `<store>/<key>`. */
  from: string;
}

/** The folder of a model.json path relative to an export folder ('encoder/model.json' → 'encoder'). */
function modelFolder(file: string): string {
  return dirname(file.split(sep).join('/'));
}

/** Loads the encoder of `source` (standard layers, weights as saved) and its input spec. */
export async function loadEncoder(source: EncoderSource): Promise<LoadedEncoder> {
  if (source.kind === 'export') {
    const { dir, card } = source;
    const model = await loadPortableModel(new FsBlobStore(dir), modelFolder(card.files.encoder));
    return {
      model,
      input: card.input,
      representationDim: card.architecture.representationDim,
      card,
      from: dir,
    };
  }
  const { store, key, manifest } = source;
  const spec = checkpointModel(key, manifest);
  const model = await loadPortableModel(store, `${key}/encoder`);
  return {
    model,
    input: imageInputSpec(spec.imageShape),
    representationDim: model.outputs[0].shape[1] as number,
    from: `${store.location}/${key}`,
  };
}

/** Loads the projection head of a checkpoint (h → z, standard layers); undefined for an export without one. */
export async function loadHead(source: EncoderSource): Promise<tf.LayersModel | undefined> {
  if (source.kind === 'export') {
    const file = source.card.files.head;
    return file === undefined ? undefined : loadPortableModel(new FsBlobStore(source.dir), modelFolder(file));
  }
  return loadPortableModel(source.store, `${source.key}/head`);
}

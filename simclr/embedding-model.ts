/**
 * The encoder `simclr embed` and `simclr neighbors` run: a run's checkpoint (its `encoder/` folder, a
 * tfjs layers model in the store: simclr/checkpoint.ts) or an exported model folder (`model.json` +
 * weights, as `simclr export` writes it). Both take uint8 HWC images scaled to [0, 1] (simclr/images.ts)
 * and return the representation h, the global-average-pool output.
 *
 * @example
 *   const encoder = await loadEmbeddingEncoder({ kind: 'exported', path: '/models/fm' });
 *   const h = await extractFeatures(encoder, pixels, count, shape, 256);
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tf } from './backend';
import { blobStoreIOHandler } from './checkpoint';
import { ModelNotFoundError } from '../contracts/errors';
import type { EmbedModel } from '../contracts/embed';
import type { BlobStore } from '../storage/blob-store';
import { joinKey } from '../storage/keys';
import type { ImageShape } from './images';

export { ModelNotFoundError };

/** The model.json of an exported model folder, or a ModelNotFoundError naming the folder. */
export function exportedModelJson(path: string): string {
  const file = join(path, 'model.json');
  if (!existsSync(path) || !statSync(path).isDirectory())
    throw new ModelNotFoundError(
      `model '${path}': no such folder (expected a run id or an exported model folder)`,
    );
  if (!existsSync(file))
    throw new ModelNotFoundError(
      `model '${path}': the folder has no model.json, so it is not an exported model (simclr export --out)`,
    );
  return file;
}

/** The [height, width, channels] input of an exported layers model, read from its model.json. */
export function exportedInputShape(path: string): ImageShape {
  const file = exportedModelJson(path);
  let json: {
    format?: string;
    modelTopology?: { config?: { layers?: { class_name: string; config: Record<string, unknown> }[] } };
  };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (err) {
    throw new ModelNotFoundError(`model '${path}': model.json is not JSON (${(err as Error).message})`);
  }
  const layers = json.modelTopology?.config?.layers ?? [];
  const input = layers.find((l) => l.class_name === 'InputLayer')?.config ?? layers[0]?.config;
  const shape = (input?.batch_input_shape ?? input?.batchInputShape) as (number | null)[] | undefined;
  const [, height, width, channels] = shape ?? [];
  if (!shape || shape.length !== 4 || !height || !width || (channels !== 1 && channels !== 3))
    throw new ModelNotFoundError(
      `model '${path}': model.json is not a tfjs layers model with an [N, h, w, 1|3] image input ` +
        `(format ${json.format ?? 'unknown'}; input ${JSON.stringify(shape ?? null)})`,
    );
  return { height, width, channels };
}

/** What identifies an exported model's weights: its model.json and weight files' sizes and times. */
export function exportedModelIdentity(path: string): Record<string, unknown> {
  const file = exportedModelJson(path);
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { weightsManifest?: { paths: string[] }[] };
  const files = ['model.json', ...(manifest.weightsManifest ?? []).flatMap((g) => g.paths)];
  return {
    path: resolve(path),
    files: files.map((f) => {
      const s = statSync(join(path, f));
      return { f, size: s.size, mtime: s.mtimeMs };
    }),
  };
}

const cache = new Map<string, Promise<tf.LayersModel>>();

/** Loads (once per process) the encoder `model`; a checkpoint's comes from `store`. */
export function loadEmbeddingEncoder(model: EmbedModel, store?: BlobStore): Promise<tf.LayersModel> {
  const id = model.kind === 'checkpoint' ? `${store?.location}|${model.key}` : `file|${resolve(model.path)}`;
  let entry = cache.get(id);
  if (!entry) {
    if (model.kind === 'checkpoint') {
      if (!store) throw new Error(`loadEmbeddingEncoder: checkpoint ${model.key} needs a store`);
      entry = tf.loadLayersModel(blobStoreIOHandler(store, joinKey(model.key, 'encoder')));
    } else {
      entry = tf.loadLayersModel(`file://${resolve(exportedModelJson(model.path))}`);
    }
    entry.catch(() => cache.delete(id));
    cache.set(id, entry);
  }
  return entry;
}

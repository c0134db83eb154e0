/**
 * Pretraining checkpoints in a BlobStore, committed by manifest last (storage/manifest.ts):
 *
 *     <prefix>/step-00000120/encoder/model.json   tfjs layers-model JSON (topology + weights manifest)
 *     <prefix>/step-00000120/encoder/weights.bin  its weights, moving batch-norm statistics included
 *     <prefix>/step-00000120/head/model.json, head/weights.bin
 *     <prefix>/step-00000120/optimizer.bin        optimiser slots (momentum, Adam moments), tfjs weight encoding
 *     <prefix>/step-00000120/MANIFEST.json        written last: step, epoch, RNG state, config + its hash, slot specs
 *     <prefix>/LATEST                             written after the manifest: the newest checkpoint's key
 *
 * The step is zero-padded to 8 digits so listings sort by step. A crash before the manifest leaves an
 * uncommitted folder that no reader trusts; a crash between the manifest and LATEST leaves LATEST one
 * checkpoint behind, which loadLatestCheckpoint notices by listing the committed manifests.
 *
 * The encoder and head folders are ordinary tfjs models: `tf.loadLayersModel(blobStoreIOHandler(store,
 * key + '/encoder'))` loads the encoder alone (for evaluation), and on a filesystem store
 * `tf.loadLayersModel('file://<root>/<key>/encoder/model.json')` works too.
 *
 * The config hash is config/fingerprint.ts over everything that changes the training trajectory
 * (model, pretrain settings but the checkpoint/kNN cadence, image shape, steps per epoch, seed).
 * Restoring under a different one is a CheckpointMismatchError that lists the differing fields.
 *
 * @example
 *   const key = await saveCheckpoint(store, 'experiments/e1/checkpoints', pretrainer, { rng: order.getState() });
 *   const latest = await loadLatestCheckpoint(store, 'experiments/e1/checkpoints');
 *   const p = latest ? await restorePretrainer(store, latest.key, options) : createPretrainer(options);
 */
import { z } from 'zod';
import { tf } from './backend';
import { CheckpointMismatchError } from '../contracts/errors';
import { BlobNotFoundError, type BlobStore } from '../storage/blob-store';
import { joinKey } from '../storage/keys';
import { readManifest, writeManifest, MANIFEST_NAME } from '../storage/manifest';
import { fingerprint } from '../config/fingerprint';
import { createPretrainer, type Pretrainer, type PretrainerOptions } from './train';
import type { RngState } from './rng';

export const CHECKPOINT_FORMAT = 'simclr-pretrain-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const LATEST_NAME = 'LATEST';
const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const OPTIMIZER_BIN = 'optimizer.bin';

/** The checkpoint folder of `step` under `prefix`: `<prefix>/step-00000120`. */
export function checkpointKey(prefix: string, step: number): string {
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`checkpointKey: step must be a non-negative integer (got ${step})`);
  return joinKey(prefix, `step-${String(step).padStart(8, '0')}`);
}

const weightSpecSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
  })
  .loose();

const rngStateSchema = z.object({
  seed: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  view: z.number().int().nonnegative(),
  drawn: z.number().int().nonnegative(),
});

export const checkpointManifestSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(CHECKPOINT_VERSION),
  globalStep: z.number().int().nonnegative(),
  /** Epoch of the next step (0-based) and steps already done in it. */
  epoch: z.number().int().nonnegative(),
  stepInEpoch: z.number().int().nonnegative(),
  configHash: z.string(),
  /** The hashed configuration itself, so a mismatch can say what differs. */
  config: z.record(z.string(), z.unknown()),
  rng: rngStateSchema.optional(),
  optimizer: z.object({ name: z.string(), slots: z.array(weightSpecSchema) }),
  /** Free-form numbers the caller wants kept with the checkpoint (loss, contrastive accuracy...). */
  metrics: z.record(z.string(), z.number()).optional(),
  createdAt: z.string(),
});
export type CheckpointManifest = z.infer<typeof checkpointManifestSchema>;

/** The checkpoint was written for another configuration than the one it is restored into (contracts/errors.ts). */
export { CheckpointMismatchError };

/** The checkpoint does not exist or is not committed (no manifest). */
export class CheckpointNotFoundError extends Error {
  override readonly name = 'CheckpointNotFoundError';
}

/** What the config hash covers: everything that changes the weights a given step produces. */
export function checkpointConfig(options: PretrainerOptions): Record<string, unknown> {
  // The checkpoint, kNN and continue-as-new cadence and the checkpoint retention do not change the
  // trajectory: resuming with other values is fine (and checkpoints written before retention existed still fit).
  const {
    checkpointEverySteps: _c,
    knnEveryEpochs: _k,
    epochsPerRun: _r,
    checkpointRetention: _keep,
    ...pretrain
  } = options.pretrain;
  return {
    model: options.model,
    pretrain,
    imageShape: {
      height: options.imageShape.height,
      width: options.imageShape.width,
      channels: options.imageShape.channels,
    },
    stepsPerEpoch: options.stepsPerEpoch,
    seed: options.seed,
  };
}

/** The fields of two JSON values that differ, as `path: saved → now` (at most 8 listed). */
function differences(saved: unknown, now: unknown, path = ''): string[] {
  if (JSON.stringify(saved) === JSON.stringify(now)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(saved) && isObject(now)) {
    const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => differences(saved[k], now[k], path ? `${path}.${k}` : k)).slice(0, 8);
  }
  return [`${path || '(root)'}: ${JSON.stringify(saved) ?? 'absent'} → ${JSON.stringify(now) ?? 'absent'}`];
}

function toArrayBuffer(data: Buffer | Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

async function getOrExplain(store: BlobStore, key: string, what: string): Promise<Buffer> {
  try {
    return await store.get(key);
  } catch (err) {
    if (err instanceof BlobNotFoundError)
      throw new CheckpointNotFoundError(`${what}: no object '${key}' in ${store.location}`);
    throw err;
  }
}

/**
 * A tfjs IOHandler that saves a layers model as `<prefix>/model.json` + `<prefix>/weights.bin` in
 * `store` (the layout of tfjs' own file:// handler, weights first, model.json last) and loads it back.
 *
 * @example
 *   await encoder.save(blobStoreIOHandler(store, 'models/encoder'));
 *   const f = await tf.loadLayersModel(blobStoreIOHandler(store, 'models/encoder'));
 */
export function blobStoreIOHandler(
  store: BlobStore,
  prefix: string,
): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  const jsonKey = joinKey(prefix, MODEL_JSON);
  const weightsKey = joinKey(prefix, WEIGHTS_BIN);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error(
          `blobStoreIOHandler: ${prefix}: binary model topologies are not supported (layers models only)`,
        );
      }
      const weightData =
        artifacts.weightData === undefined
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      await store.put(weightsKey, new Uint8Array(weightData));
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      await store.put(jsonKey, JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      let modelJson: tf.io.ModelJSON;
      const text = (await getOrExplain(store, jsonKey, 'model')).toString('utf8');
      try {
        modelJson = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new Error(`${jsonKey} in ${store.location} is not valid JSON: ${(err as Error).message}`);
      }
      const groups = modelJson.weightsManifest ?? [];
      if (groups.length !== 1 || groups[0].paths.length !== 1 || groups[0].paths[0] !== WEIGHTS_BIN) {
        throw new Error(`${jsonKey} in ${store.location}: expected one weights file '${WEIGHTS_BIN}'`);
      }
      const weightData = toArrayBuffer(await getOrExplain(store, weightsKey, 'model weights'));
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        weightSpecs: groups[0].weights,
        weightData,
      };
    },
  };
}

export interface SaveCheckpointOptions {
  /** State of the data-order RNG (simclr/rng.ts), restored with the checkpoint. */
  rng?: RngState;
  /** Numbers kept in the manifest (e.g. the last loss). */
  metrics?: Record<string, number>;
  /** Overwrite the checkpoint of this step if one exists (default false: an existing one is kept). */
  overwrite?: boolean;
}

/**
 * Saves `pretrainer` at its current global step under `prefix` (see the module comment) and points
 * LATEST at it. Idempotent: a committed checkpoint of the same step is left as it is. Returns its key.
 */
export async function saveCheckpoint(
  store: BlobStore,
  prefix: string,
  pretrainer: Pretrainer,
  opts: SaveCheckpointOptions = {},
): Promise<string> {
  const step = pretrainer.globalStep;
  const key = checkpointKey(prefix, step);
  if (!opts.overwrite && (await readManifest(store, key)) !== undefined) {
    await store.put(joinKey(prefix, LATEST_NAME), key);
    return key;
  }
  await pretrainer.encoder.save(blobStoreIOHandler(store, joinKey(key, 'encoder')));
  await pretrainer.head.model.save(blobStoreIOHandler(store, joinKey(key, 'head')));
  const slots = pretrainer.optimizer.getSlots();
  const encoded = await tf.io.encodeWeights(slots.map(({ name, tensor }) => ({ name, tensor })));
  await store.put(joinKey(key, OPTIMIZER_BIN), new Uint8Array(tf.io.CompositeArrayBuffer.join(encoded.data)));
  const config = checkpointConfig(pretrainer.options);
  const { stepsPerEpoch } = pretrainer.options;
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    globalStep: step,
    epoch: Math.floor(step / stepsPerEpoch),
    stepInEpoch: step % stepsPerEpoch,
    configHash: fingerprint(config),
    config,
    rng: opts.rng,
    optimizer: {
      name: pretrainer.optimizer.name,
      slots: encoded.specs.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
    },
    metrics: opts.metrics,
    createdAt: new Date().toISOString(),
  };
  await writeManifest(store, key, manifest);
  await store.put(joinKey(prefix, LATEST_NAME), key);
  return key;
}

/** The committed manifest of the checkpoint `key`; CheckpointNotFoundError when there is none. */
export async function readCheckpointManifest(store: BlobStore, key: string): Promise<CheckpointManifest> {
  const manifest = await readManifest(store, key, checkpointManifestSchema);
  if (!manifest)
    throw new CheckpointNotFoundError(
      `no committed checkpoint '${key}' in ${store.location} (no ${MANIFEST_NAME})`,
    );
  return manifest;
}

/**
 * The newest committed checkpoint under `prefix`, or undefined when there is none. LATEST names it;
 * a newer committed checkpoint than LATEST (a crash between manifest and pointer) wins, and so does
 * the listing when LATEST is missing or names an uncommitted folder.
 */
export async function loadLatestCheckpoint(
  store: BlobStore,
  prefix: string,
): Promise<{ key: string; manifest: CheckpointManifest } | undefined> {
  const listed = await listCheckpointSteps(store, prefix);
  let best = listed.length > 0 ? listed[listed.length - 1] : -1;
  let pointer: string | undefined;
  try {
    pointer = (await store.get(joinKey(prefix, LATEST_NAME))).toString('utf8').trim();
  } catch (err) {
    if (!(err instanceof BlobNotFoundError)) throw err;
  }
  if (pointer !== undefined) {
    const m = /step-(\d+)$/.exec(pointer);
    if (
      m &&
      pointer === checkpointKey(prefix, Number(m[1])) &&
      (await readManifest(store, pointer)) !== undefined
    ) {
      best = Math.max(best, Number(m[1]));
    }
  }
  if (best < 0) return undefined;
  const key = checkpointKey(prefix, best);
  return { key, manifest: await readCheckpointManifest(store, key) };
}

/** Steps of the committed checkpoints under `prefix`, ascending. */
export async function listCheckpointSteps(store: BlobStore, prefix: string): Promise<number[]> {
  const stepKey = /\/?step-(\d+)\/MANIFEST\.json$/;
  return (await store.list(joinKey(prefix, 'step-')))
    .map((s) => ({ match: stepKey.exec(s.key), key: s.key }))
    .filter(
      (s) => s.match !== null && s.key === joinKey(checkpointKey(prefix, Number(s.match![1])), MANIFEST_NAME),
    )
    .map((s) => Number(s.match![1]))
    .sort((a, b) => a - b);
}

/**
 * Deletes all but the newest `keep` committed checkpoints under `prefix` (and any uncommitted folder
 * older than the oldest kept one, the remains of a crash). Each is uncommitted first (manifest
 * deleted), then its data, so a crash midway never leaves a manifest without its data. Returns the
 * deleted keys.
 */
export async function pruneCheckpoints(store: BlobStore, prefix: string, keep: number): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1)
    throw new Error(`pruneCheckpoints: keep must be a positive integer (got ${keep})`);
  const committed = await listCheckpointSteps(store, prefix);
  if (committed.length <= keep) return [];
  const oldestKept = committed[committed.length - keep];
  const folders = new Set<number>();
  for (const s of await store.list(joinKey(prefix, 'step-'))) {
    const m = /step-(\d+)\//.exec(s.key.slice(joinKey(prefix).length));
    if (m && Number(m[1]) < oldestKept) folders.add(Number(m[1]));
  }
  const deleted: string[] = [];
  for (const step of [...folders].sort((a, b) => a - b)) {
    const key = checkpointKey(prefix, step);
    await store.delete(joinKey(key, MANIFEST_NAME));
    await store.deletePrefix(`${key}/`);
    deleted.push(key);
  }
  return deleted;
}

/** Loads a saved layers model's weights into `model` by their stable names; every weight must be present. */
async function loadWeightsInto(store: BlobStore, prefix: string, model: tf.LayersModel): Promise<void> {
  const artifacts = await blobStoreIOHandler(store, prefix).load();
  const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  try {
    const expected = model.weights.map((w) => w.originalName).sort();
    const saved = Object.keys(tensors).sort();
    const missing = expected.filter((n) => !(n in tensors));
    const extra = saved.filter((n) => !expected.includes(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `checkpoint model ${prefix} in ${store.location} does not fit model '${model.name}'` +
          (missing.length ? `; missing weights: ${missing.slice(0, 5).join(', ')}` : '') +
          (extra.length ? `; unknown weights: ${extra.slice(0, 5).join(', ')}` : ''),
      );
    }
    model.loadWeights(tensors, true);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

export interface RestoredCheckpoint {
  pretrainer: Pretrainer;
  manifest: CheckpointManifest;
}

/**
 * Builds a pretrainer for `options` and restores the checkpoint `key` into it: weights (moving
 * statistics included), optimiser slots and the global step. Throws CheckpointMismatchError when the
 * checkpoint was written for another configuration, CheckpointNotFoundError when it is not committed.
 */
export async function restorePretrainer(
  store: BlobStore,
  key: string,
  options: PretrainerOptions,
): Promise<RestoredCheckpoint> {
  const manifest = await readCheckpointManifest(store, key);
  const config = checkpointConfig(options);
  const hash = fingerprint(config);
  if (manifest.configHash !== hash) {
    const diff = differences(manifest.config, JSON.parse(JSON.stringify(config)));
    throw new CheckpointMismatchError(
      key,
      diff.length > 0 ? diff : [`config hash ${manifest.configHash} → ${hash}`],
    );
  }
  const pretrainer = createPretrainer(options);
  try {
    if (manifest.optimizer.name !== pretrainer.optimizer.name) {
      throw new CheckpointMismatchError(key, [
        `optimizer: ${manifest.optimizer.name} → ${pretrainer.optimizer.name}`,
      ]);
    }
    await loadWeightsInto(store, joinKey(key, 'encoder'), pretrainer.encoder);
    await loadWeightsInto(store, joinKey(key, 'head'), pretrainer.head.model);
    const slotData = toArrayBuffer(await getOrExplain(store, joinKey(key, OPTIMIZER_BIN), 'optimizer state'));
    const slots = tf.io.decodeWeights(slotData, manifest.optimizer.slots as tf.io.WeightsManifestEntry[]);
    try {
      pretrainer.restoreState({
        globalStep: manifest.globalStep,
        slots: Object.entries(slots).map(([name, tensor]) => ({ name, tensor })),
      });
    } finally {
      tf.dispose(Object.values(slots));
    }
    return { pretrainer, manifest };
  } catch (err) {
    pretrainer.dispose();
    throw err;
  }
}

/**
 * What keeps a checkpoint from warm-starting a model: the differences (`path: saved → now`) of the
 * architecture, its model config and image shape, between the checkpoint's config (its manifest) and
 * the new run's. Empty when it fits; the optimiser, schedule and seed may differ.
 */
export function warmStartDifferences(
  saved: Record<string, unknown>,
  now: Pick<PretrainerOptions, 'model' | 'imageShape'>,
): string[] {
  const want = JSON.parse(
    JSON.stringify({
      model: now.model,
      imageShape: {
        height: now.imageShape.height,
        width: now.imageShape.width,
        channels: now.imageShape.channels,
      },
    }),
  ) as Record<string, unknown>;
  return [
    ...differences(saved.model, want.model, 'model'),
    ...differences(saved.imageShape, want.imageShape, 'imageShape'),
  ];
}

/**
 * Warm start: loads the encoder and projection-head weights of `key` (a checkpoint of another run)
 * into a fresh pretrainer, whose optimiser state and step stay at zero, so the new run follows its
 * own learning-rate schedule from the learned weights. The architecture must be the one the
 * checkpoint was written for (warmStartDifferences); anything else may differ.
 */
export async function warmStartPretrainer(
  store: BlobStore,
  key: string,
  pretrainer: Pretrainer,
): Promise<void> {
  const manifest = await readCheckpointManifest(store, key);
  const diff = warmStartDifferences(manifest.config, pretrainer.options);
  if (diff.length > 0) throw new CheckpointMismatchError(key, diff);
  await loadWeightsInto(store, joinKey(key, 'encoder'), pretrainer.encoder);
  await loadWeightsInto(store, joinKey(key, 'head'), pretrainer.head.model);
}

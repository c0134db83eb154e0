/**
 * Every key prefix of the store, in one place. Activities, the report and the CLI build keys only
 * through these functions, so a prefix cannot drift between the writer and the reader (or the garbage
 * collector). Ids are single key segments; a bad one is an InvalidKeyError (non-retryable) naming it.
 *
 * ```
 * datasets/<datasetId>/MANIFEST.json                         the dataset manifest, written last (commitDataset)
 * datasets/<datasetId>/<split>/shard-<s:5>.bin               one shard of decoded images (shardDataset)
 * datasets/<datasetId>/<split>/shard-<s:5>.json              its stats, the shard's commit marker
 * augment/<datasetId>/<augId>/epoch-<e:5>/shard-<s:5>.bin    two views of a shard (precomputeAugmentations)
 * experiments/<id>/checkpoints/step-<n>/… + LATEST           checkpoints (simclr/checkpoint.ts names inside)
 * experiments/<id>/metrics/<chunk>.jsonl                     metric records, one chunk per activity call
 * experiments/<id>/metrics.jsonl                             all chunks merged and sorted, at report time
 * experiments/<id>/report.json | report.html                 the run report (report/report.ts)
 * experiments/<id>/charts/<name>.png                         the charts embedded in the HTML
 * experiments/<id>/tensorboard/…                             TensorBoard event files, projector files
 * experiments/<id>/representation/<encoder>.json             test-set embedding sample, confusion, neighbours
 * experiments/<id>/representation/<encoder>-map.json         its 2-D UMAP map (written with the report)
 * sweeps/<sweepId>/report.json | report.html                 the sweep report (report/sweep-report.ts), json last
 * sweeps/<sweepId>/charts/<name>.png                         its charts
 * models/<schedule>/runs/<experimentId>.json                 a completed run of a schedule: lineage, results
 * models/<schedule>/promotions/<experimentId>.json           the promotion (or refusal) of that run's encoder
 * models/<schedule>/CURRENT.json                             the schedule's current model (written last)
 * embeddings/<embedId>/parts/<split>/part-<s:5>.f32          one dataset shard's embeddings (embedShard)
 * embeddings/<embedId>/parts/<split>/part-<s:5>.json         its row count and width, the part's commit marker
 * embeddings/<embedId>/files/<splits>.<ext>                  the assembled file(s) (writeEmbeddingsFile)
 * ```
 * A sweep's variants are experiments of their own: experiments/<sweepId>.<variant>/ (contracts/sweep.ts).
 */
import { InvalidKeyError } from '../contracts/errors';
import type { Split } from '../contracts/dataset';
import { joinKey, validateKey } from './keys';

/** The top-level prefixes of the store, each owned by one kind of artifact. */
export const STORE_ROOTS = ['datasets', 'augment', 'experiments', 'sweeps', 'models', 'embeddings'] as const;

/** `n` zero-padded to five digits, as shard and epoch numbers appear in keys. */
const pad5 = (n: number) => String(n).padStart(5, '0');

/** `<root>/<id>`, refusing an id that is not one non-empty key segment (names `what` in the error). */
function rootPrefix(root: (typeof STORE_ROOTS)[number], what: string, id: string): string {
  if (typeof id !== 'string' || id === '' || id.includes('/'))
    throw new InvalidKeyError(
      `${root}/${String(id)}`,
      `${what} '${String(id)}' must be a non-empty key segment without '/'`,
    );
  return validateKey(joinKey(root, id));
}

// --- datasets -------------------------------------------------------------------------------------

/** `datasets/<datasetId>`: the dataset's shards and its MANIFEST.json (storage/manifest.ts). */
export const datasetPrefix = (datasetId: string) => rootPrefix('datasets', 'dataset id', datasetId);

/** `datasets/<id>/<split>/shard-00003.bin`. */
export const shardKey = (datasetId: string, split: Split, shard: number) =>
  validateKey(`${datasetPrefix(datasetId)}/${split}/shard-${pad5(shard)}.bin`);

/** `datasets/<id>/<split>/shard-00003.json`: the shard's stats, written after its data (its commit marker). */
export const shardStatsKey = (datasetId: string, split: Split, shard: number) =>
  shardKey(datasetId, split, shard).replace(/\.bin$/, '.json');

// --- augmentation views ---------------------------------------------------------------------------

/** `augment/<datasetId>/<augId>/`: every precomputed view of one augmentation stream. */
export const augmentationPrefix = (datasetId: string, augId: string) =>
  `${validateKey(joinKey(rootPrefix('augment', 'dataset id', datasetId), augId))}/`;

/** `augment/<datasetId>/<augId>/epoch-00002/`: the views of one epoch, deleted once consumed. */
export const augmentEpochPrefix = (datasetId: string, augId: string, epoch: number) =>
  `${augmentationPrefix(datasetId, augId)}epoch-${pad5(epoch)}/`;

/** `augment/<datasetId>/<augId>/epoch-00002/shard-00003.bin`. */
export const augmentShardKey = (datasetId: string, augId: string, epoch: number, shard: number) =>
  validateKey(`${augmentEpochPrefix(datasetId, augId, epoch)}shard-${pad5(shard)}.bin`);

// --- experiments (runs) ---------------------------------------------------------------------------

/** The key prefix of one experiment (`experiments/<id>`); the id must be a single key segment. */
export const experimentPrefix = (experimentId: string) =>
  rootPrefix('experiments', 'experiment id', experimentId);

/** A key inside the experiment's prefix: experimentKey('e1', 'charts', 'loss.png') = 'experiments/e1/charts/loss.png'. */
export function experimentKey(experimentId: string, ...parts: string[]): string {
  return validateKey(joinKey(experimentPrefix(experimentId), ...parts));
}

/** `experiments/<id>/checkpoints`: the checkpoints of a run and their LATEST pointer. */
export const checkpointsPrefix = (experimentId: string) => experimentKey(experimentId, 'checkpoints');

/** The fixed keys of the report of one experiment. */
export function reportKeys(experimentId: string) {
  return {
    metricsChunks: `${experimentPrefix(experimentId)}/metrics/`,
    metricsJsonl: experimentKey(experimentId, 'metrics.jsonl'),
    reportJson: experimentKey(experimentId, 'report.json'),
    reportHtml: experimentKey(experimentId, 'report.html'),
    charts: `${experimentPrefix(experimentId)}/charts/`,
    tensorboard: `${experimentPrefix(experimentId)}/tensorboard/`,
  };
}

/**
 * What the report shows of an encoder's representation (report/representation-sample.ts), per encoder
 * ('pretrained', 'random-init'): the sample written by its evaluation, and the 2-D map the report draws
 * of it. The projector files sit in the TensorBoard folder (reportKeys().tensorboard), where
 * `tensorboard --logdir` finds them next to the event files.
 */
export function representationKeys(experimentId: string) {
  const segment = (encoder: string) => {
    if (!/^[a-z][a-z0-9-]*$/.test(encoder))
      throw new InvalidKeyError(
        `${experimentPrefix(experimentId)}/representation/${encoder}`,
        `encoder '${encoder}' must be lowercase letters, digits and '-'`,
      );
    return encoder;
  };
  return {
    prefix: `${experimentPrefix(experimentId)}/representation/`,
    sample: (encoder: string) => experimentKey(experimentId, 'representation', `${segment(encoder)}.json`),
    map: (encoder: string) => experimentKey(experimentId, 'representation', `${segment(encoder)}-map.json`),
  };
}

// --- models (scheduled retraining) ---------------------------------------------------------------

/** The key prefix of one schedule's models (`models/<schedule>`); the name must be a single key segment. */
export const schedulePrefix = (schedule: string) => rootPrefix('models', 'schedule name', schedule);

/**
 * The keys of a schedule's records (contracts/retrain.ts): one record per completed run (the lineage
 * the next run starts from), one per promotion decision, and the pointer to the current model.
 */
export function scheduleKeys(schedule: string) {
  const prefix = schedulePrefix(schedule);
  const segment = (what: string, id: string) => {
    if (id === '' || id.includes('/'))
      throw new InvalidKeyError(`${prefix}/${what}/${id}`, `experiment id '${id}' must be one key segment`);
    return validateKey(`${prefix}/${what}/${id}.json`);
  };
  return {
    runs: `${prefix}/runs/`,
    run: (experimentId: string) => segment('runs', experimentId),
    promotions: `${prefix}/promotions/`,
    promotion: (experimentId: string) => segment('promotions', experimentId),
    current: validateKey(`${prefix}/CURRENT.json`),
  };
}

// --- embeddings (simclr embed) -------------------------------------------------------------------

/**
 * `embeddings/<embedId>`: the parts and files of one (model, dataset) pair. The id is content-addressed
 * (activities/embed.ts), so embedding the same dataset with the same model again reuses its parts.
 */
export const embeddingsPrefix = (embedId: string) => rootPrefix('embeddings', 'embedding id', embedId);

/** The part of one dataset shard: its float32 rows (`.f32`) and its commit marker (`.json`, written after). */
export function embeddingPartKeys(embedId: string, split: Split, shard: number) {
  const base = `${embeddingsPrefix(embedId)}/parts/${split}/part-${pad5(shard)}`;
  return { data: validateKey(`${base}.f32`), marker: validateKey(`${base}.json`) };
}

/** An assembled file: `embeddings/<embedId>/files/<name>` (e.g. `test.parquet`, `all.npy`, `all.csv`). */
export const embeddingsFileKey = (embedId: string, name: string) =>
  validateKey(`${embeddingsPrefix(embedId)}/files/${name}`);

// --- sweeps ---------------------------------------------------------------------------------------

/** The key prefix of one sweep (`sweeps/<id>`); the id must be a single key segment. */
export const sweepPrefix = (sweepId: string) => rootPrefix('sweeps', 'sweep id', sweepId);

/** The fixed keys of a sweep's report. */
export function sweepKeys(sweepId: string) {
  const prefix = sweepPrefix(sweepId);
  return {
    reportJson: validateKey(`${prefix}/report.json`),
    reportHtml: validateKey(`${prefix}/report.html`),
    chart: (name: string) => validateKey(`${prefix}/charts/${name}.png`),
  };
}

/**
 * Precomputed views (activities/augment.ts writes them):
 *
 * ```
 * augment/<datasetId>/<viewsId>/epoch-<eeeee>/shard-<sssss>.bin
 * ```
 * The views id is `<augmentation fingerprint>.<experimentId>` (viewsIdOf): the views of one experiment,
 * which only that experiment's pretrain loop deletes, so two experiments on the same dataset, parameters
 * and seed never delete each other's epochs, and a resumed run (same experiment id) finds its own.
 * Runs started before views were keyed per experiment carry the bare fingerprint (a legacy, shared id)
 * in their recorded history, and keep using it.
 */
export const VIEWS_ROOT = 'augment/';

/** A fingerprint of config/fingerprint.ts: 16 lowercase hex digits. */
const FINGERPRINT = /^[0-9a-f]{16}$/;

/** The views id of an experiment's own views: `<fingerprint>.<experimentId>`. */
export function viewsIdOf(augmentationFingerprint: string, experimentId: string): string {
  if (!FINGERPRINT.test(augmentationFingerprint))
    throw new Error(`augmentation fingerprint '${augmentationFingerprint}' is not 16 hex digits`);
  return validateKey(
    `${augmentationFingerprint}.${experimentPrefix(experimentId).slice('experiments/'.length)}`,
  );
}

/** The parts of a views id; `experimentId` is undefined for a legacy (shared) id. */
export function parseViewsId(viewsId: string): { fingerprint: string; experimentId?: string } | undefined {
  if (FINGERPRINT.test(viewsId)) return { fingerprint: viewsId };
  const m = /^([0-9a-f]{16})\.(.+)$/.exec(viewsId);
  return m ? { fingerprint: m[1], experimentId: m[2] } : undefined;
}

/** What a key under augment/ names: its dataset, views id and epoch (undefined for any other key). */
export function parseViewsKey(
  key: string,
): { datasetId: string; viewsId: string; epoch: number } | undefined {
  const m = /^augment\/([^/]+)\/([^/]+)\/epoch-(\d+)\/[^/]+$/.exec(key);
  return m ? { datasetId: m[1], viewsId: m[2], epoch: Number(m[3]) } : undefined;
}

/** Every view of one views id: `augment/<datasetId>/<viewsId>/` (the augmentation prefix of that id). */
export const viewsPrefix = augmentationPrefix;

/**
 * An experiment's store folder and its checkpoints (simclr/checkpoint.ts describes a checkpoint):
 *
 * ```
 * experiments/<id>/checkpoints/step-<nnnnnnnn>/…   one checkpoint, committed by its MANIFEST.json
 * experiments/<id>/checkpoints/LATEST              the newest checkpoint's key
 * experiments/<id>/checkpoints/RETENTION.json      the retention policy pruning applies (simclr/checkpoint-retention.ts)
 * ```
 */
export const EXPERIMENTS_ROOT = 'experiments/';

/** `experiments/<id>/checkpoints` (the same prefix as checkpointsPrefix). */
export const experimentCheckpointsPrefix = checkpointsPrefix;

/** The experiment id of a key under experiments/ (undefined for any other key). */
export function experimentOfKey(key: string): string | undefined {
  return /^experiments\/([^/]+)\//.exec(key)?.[1];
}

/** The pointer to the newest checkpoint, next to the step folders. */
export const CHECKPOINT_LATEST_NAME = 'LATEST';

/** The folder of the checkpoint of `step` under `prefix`: `<prefix>/step-00000120` (8 digits sort by step). */
export function checkpointStepKey(prefix: string, step: number): string {
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`checkpoint step must be a non-negative integer (got ${step})`);
  return joinKey(prefix, `step-${String(step).padStart(8, '0')}`);
}

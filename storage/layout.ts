/**
 * Key prefixes of the store, by what lives there. The sweep's live here; an experiment's report keys
 * are in report/keys.ts (experiments/<id>/…) and the pipeline's data keys next to their activities
 * (datasets/, augment/), to be gathered here as they are touched.
 *
 * ```
 * sweeps/<sweepId>/report.json         the SweepReport (report/sweep-report.ts), written last
 * sweeps/<sweepId>/report.html         self-contained comparison of the variants
 * sweeps/<sweepId>/charts/<name>.png   the charts embedded in the HTML
 * ```
 * Each variant is an experiment of its own: experiments/<sweepId>.<variant>/ (workflows/sweep-types.ts).
 */
import { joinKey, validateKey } from './keys';

/** The key prefix of one sweep (`sweeps/<id>`); the id must be a single key segment. */
export function sweepPrefix(sweepId: string): string {
  if (typeof sweepId !== 'string' || sweepId === '' || sweepId.includes('/'))
    throw new Error(`sweep id '${String(sweepId)}' must be a non-empty key segment without '/'`);
  return validateKey(joinKey('sweeps', sweepId));
}

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
  return validateKey(`${augmentationFingerprint}.${experimentSegment(experimentId)}`);
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

/** Every view of one views id: `augment/<datasetId>/<viewsId>/`. */
export function viewsPrefix(datasetId: string, viewsId: string): string {
  return `${validateKey(joinKey('augment', datasetId, viewsId))}/`;
}

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

function experimentSegment(experimentId: string): string {
  if (typeof experimentId !== 'string' || experimentId === '' || experimentId.includes('/'))
    throw new Error(`experiment id '${String(experimentId)}' must be a non-empty key segment without '/'`);
  return experimentId;
}

/** `experiments/<id>/checkpoints`. */
export function experimentCheckpointsPrefix(experimentId: string): string {
  return validateKey(joinKey('experiments', experimentSegment(experimentId), 'checkpoints'));
}

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

/**
 * What `simclr gc` removes: the data no open run needs and nothing reads any more.
 *
 * - views of experiments without an open run (a failed or cancelled run leaves its look-ahead behind),
 *   and legacy shared views no open pretrain loop reads;
 * - checkpoints of closed runs beyond their retention policy (simclr/checkpoint-retention.ts: the one
 *   recorded next to them, else the defaults), uncommitted folders of crashed writes among them;
 * - the filesystem store's `.blob-tmp-*` files (writes cut short by a crash) older than the safe age;
 *   MinIO cleans up its own incomplete multipart uploads (stale uploads expire after 24 h);
 * - this machine's S3 source mirrors ($SIMCLR_HOME/cache/sources) older than the safe age, unless an
 *   open experiment reads an s3:// source (the mirror's name is a hash of the listing, so which mirror
 *   a source uses is not known without listing the bucket: all are kept then).
 *
 * Everything of an experiment with an open run is kept. The store is listed before Temporal is asked,
 * so whatever a run started before that question wrote is seen as its. A closed run resumed after it
 * (same experiment id) may lose views gc was about to delete; its epochs then compute them inline.
 * Retention never deletes a run's newest checkpoint, so the resume itself is safe. Datasets, metrics
 * and reports are never orphans.
 */
import { lstat, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  applyRetention,
  recordedPolicy,
  removeCheckpointFolder,
  retentionPolicy,
} from '../simclr/checkpoint-retention';
import type { BlobStore } from '../storage/blob-store';
import { FsBlobStore } from '../storage/fs-store';
import { TEMP_MARKER } from '../storage/keys';
import {
  EXPERIMENTS_ROOT,
  experimentCheckpointsPrefix,
  experimentOfKey,
  parseViewsId,
  parseViewsKey,
  VIEWS_ROOT,
} from '../storage/layout';
import type { OpenRuns } from './open-runs';

export type OrphanKind = 'views' | 'checkpoint' | 'temp-file' | 'source-mirror';

export interface Orphan {
  kind: OrphanKind;
  /** A key prefix of the store, or a local path (temp files, mirrors). */
  location: string;
  bytes: number;
  objects: number;
  reason: string;
}

/** What gc found, and how to remove one item. */
export interface OrphanPlan {
  orphans: Orphan[];
  /** Things gc chose to keep and why (e.g. mirrors while an open run reads s3://). */
  kept: string[];
  remove(orphan: Orphan): Promise<void>;
}

export interface FindOptions {
  /** The open runs: taken after the store was listed (see the module comment). */
  openRuns: () => Promise<OpenRuns>;
  /** Temp files, uncommitted checkpoints and mirrors untouched for less than this are kept. */
  minAgeMs: number;
  /** $SIMCLR_HOME/cache/sources of this machine. */
  mirrorDir: string;
  now?: Date;
  /** A progress line for long walks. */
  progress?: (line: string) => void;
}

interface LocalEntry {
  path: string;
  bytes: number;
  objects: number;
  modified: number;
}

/** Sizes and newest modification time under a local path, not following links. */
async function measure(path: string, onEntry?: () => void): Promise<LocalEntry> {
  const s = await lstat(path);
  const out: LocalEntry = { path, bytes: 0, objects: 0, modified: s.mtimeMs };
  if (!s.isDirectory()) return { ...out, bytes: s.size, objects: 1 };
  for (const name of await readdir(path)) {
    onEntry?.();
    const inner = await measure(join(path, name), onEntry).catch(() => undefined);
    if (!inner) continue;
    out.bytes += inner.bytes;
    out.objects += inner.objects;
    out.modified = Math.max(out.modified, inner.modified);
  }
  return out;
}

/** The filesystem store's `.blob-tmp-*` files under `root`. */
async function tempFiles(root: string, onEntry: () => void): Promise<LocalEntry[]> {
  const found: LocalEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // a folder removed while we walk, or a missing root
    }
    for (const e of entries) {
      onEntry();
      const p = join(dir, e.name);
      if (e.name.startsWith(TEMP_MARKER) && e.isFile()) {
        const s = await lstat(p).catch(() => undefined);
        if (s) found.push({ path: p, bytes: s.size, objects: 1, modified: s.mtimeMs });
      } else if (e.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return found;
}

/** A progress reporter that says how far a walk is, at most once a second. */
function ticker(progress: FindOptions['progress'], what: string) {
  let n = 0;
  let last = Date.now();
  return () => {
    n++;
    if (progress && Date.now() - last >= 1000) {
      last = Date.now();
      progress(`gc: ${what}: ${n.toLocaleString('en')} entries so far`);
    }
  };
}

/**
 * The checkpoints policy of a closed run: the recorded one, else the defaults with the epochs and
 * steps per epoch of its newest checkpoint's manifest (runs from before retention existed).
 */
async function policyOf(store: BlobStore, prefix: string, manifests: string[]) {
  const recorded = await recordedPolicy(store, prefix);
  if (recorded) return recorded;
  const newest = manifests.sort().pop();
  if (!newest) return undefined;
  try {
    const m = JSON.parse((await store.get(newest)).toString('utf8')) as {
      config?: { pretrain?: { epochs?: number }; stepsPerEpoch?: number };
    };
    const epochs = m.config?.pretrain?.epochs;
    const steps = m.config?.stepsPerEpoch;
    return epochs && steps ? retentionPolicy({ epochs }, steps) : undefined;
  } catch {
    return undefined;
  }
}

export async function findOrphans(store: BlobStore, opts: FindOptions): Promise<OrphanPlan> {
  const now = (opts.now ?? new Date()).getTime();
  const say = opts.progress ?? (() => undefined);
  const kept: string[] = [];

  say(`gc: listing ${VIEWS_ROOT} and ${EXPERIMENTS_ROOT} in ${store.location} …`);
  const t0 = Date.now();
  const views = await store.list(VIEWS_ROOT);
  const experimentObjects = await store.list(EXPERIMENTS_ROOT);
  say(
    `gc: listed ${(views.length + experimentObjects.length).toLocaleString('en')} objects in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const open = await opts.openRuns();
  const isOpen = (id: string) => open.experimentIds.has(id);
  if (open.experimentIds.size > 0)
    kept.push(
      `everything of the ${open.experimentIds.size} experiment(s) with an open run in namespace ` +
        `'${open.namespace}': ${[...open.experimentIds].sort().join(', ')}`,
    );
  const orphans: Orphan[] = [];

  // Views, by views id.
  const groups = new Map<string, Orphan & { viewsId: string }>();
  for (const o of views) {
    const v = parseViewsKey(o.key);
    if (!v) continue;
    const location = `${VIEWS_ROOT}${v.datasetId}/${v.viewsId}/`;
    const g = groups.get(location) ?? {
      kind: 'views',
      location,
      bytes: 0,
      objects: 0,
      reason: '',
      viewsId: v.viewsId,
    };
    g.bytes += o.size;
    g.objects++;
    groups.set(location, g);
  }
  for (const { viewsId, ...g } of groups.values()) {
    const owner = parseViewsId(viewsId)?.experimentId;
    if (open.viewsIds.has(viewsId) || (owner !== undefined && isOpen(owner))) continue;
    g.reason = owner
      ? `views of experiment ${owner}, which has no open run`
      : 'shared views (legacy layout) that no open pretrain loop reads';
    orphans.push(g);
  }

  // Checkpoints of closed runs beyond their retention.
  const byExperiment = new Map<string, string[]>();
  for (const o of experimentObjects) {
    const id = experimentOfKey(o.key);
    if (!id || !o.key.startsWith(`${experimentCheckpointsPrefix(id)}/`)) continue;
    const manifests = byExperiment.get(id) ?? [];
    if (o.key.endsWith('/MANIFEST.json')) manifests.push(o.key);
    byExperiment.set(id, manifests);
  }
  for (const [id, manifests] of byExperiment) {
    if (isOpen(id)) continue;
    const prefix = experimentCheckpointsPrefix(id);
    const policy = await policyOf(store, prefix, manifests);
    if (!policy) {
      kept.push(`checkpoints of ${id}: no retention policy recorded and no readable manifest`);
      continue;
    }
    const doomed = await applyRetention(store, prefix, policy, {
      dryRun: true,
      minAgeMs: opts.minAgeMs,
      now: new Date(now),
    });
    for (const f of doomed)
      orphans.push({
        kind: 'checkpoint',
        location: `${f.key}/`,
        bytes: f.bytes,
        objects: f.objects,
        reason: f.committed
          ? `beyond the retention of closed run ${id} (keep last ${policy.keepLast}` +
            `${policy.keepEveryEpochs ? `, every ${policy.keepEveryEpochs}th epoch` : ''}, the final one)`
          : `uncommitted (a write cut short) in closed run ${id}`,
      });
  }

  // The filesystem store's temp files.
  if (store instanceof FsBlobStore) {
    say(`gc: walking ${store.root} for ${TEMP_MARKER}* files …`);
    for (const t of await tempFiles(store.root, ticker(opts.progress, `walking ${store.root}`))) {
      if (now - t.modified < opts.minAgeMs) continue;
      orphans.push({ ...t, kind: 'temp-file', location: t.path, reason: 'an interrupted write' });
    }
  }

  // This machine's S3 source mirrors.
  const mirrors = await readdir(opts.mirrorDir).catch(() => [] as string[]);
  if (mirrors.length > 0 && open.s3Sources.size > 0) {
    kept.push(
      `${mirrors.length} source mirror(s) in ${opts.mirrorDir}: open runs read ${[...open.s3Sources].join(', ')}`,
    );
  } else {
    for (const name of mirrors) {
      const m = await measure(join(opts.mirrorDir, name), ticker(opts.progress, `measuring ${name}`));
      if (now - m.modified < opts.minAgeMs) continue;
      orphans.push({
        ...m,
        kind: 'source-mirror',
        location: m.path,
        reason: name.includes('.tmp-') ? 'an interrupted mirror' : 'a mirror no open run reads',
      });
    }
  }

  return {
    orphans,
    kept,
    async remove(o) {
      switch (o.kind) {
        case 'views':
          await store.deletePrefix(o.location);
          return;
        case 'checkpoint':
          await removeCheckpointFolder(store, o.location.replace(/\/$/, ''));
          return;
        case 'temp-file':
          await unlink(o.location).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          });
          return;
        case 'source-mirror':
          await rm(o.location, { recursive: true, force: true });
          return;
      }
    },
  };
}

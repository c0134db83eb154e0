/**
 * The dataset manifest behind an activity's `dataset` input. Workflows pass a DatasetRef (id, manifest
 * key, counts: contracts/dataset.ts) so that no history carries the shard list; the activity reads the
 * manifest from the store itself. A pretrain loop reads it once per shard range and epoch, so each worker
 * process keeps the few it read last (a committed manifest does not change under its key; a dataset
 * that is un-committed because of a damaged shard is forgotten here and read again once re-committed).
 * Inputs scheduled before DatasetRef existed carry the whole manifest: it is used as it is.
 *
 * @example
 *   const dataset = await datasetManifest(store, input.dataset); // DatasetRef or DatasetManifest
 *   dataset.splits.train.shards[3].key;
 */
import type { DatasetInput, DatasetManifest, DatasetRef } from '../contracts/dataset';
import { isDatasetRef } from '../contracts/dataset';
import type { BlobStore } from '../storage/blob-store';
import { datasetPrefix } from '../storage/layout';
import { manifestKey, readManifest } from '../storage/manifest';

/** Manifests kept per worker process (a worker rarely serves more than one or two datasets at a time). */
const CACHED_MANIFESTS = 8;

const cache = new Map<string, Promise<DatasetManifest>>();
const cacheKey = (store: BlobStore, datasetId: string) => `${store.location}\0${datasetId}`;

/** The manifest a `dataset` input stands for: read from `store` for a DatasetRef (cached), else itself. */
export function datasetManifest(store: BlobStore, dataset: DatasetInput): Promise<DatasetManifest> {
  if (!isDatasetRef(dataset)) return Promise.resolve(dataset);
  const key = cacheKey(store, dataset.datasetId);
  const cached = cache.get(key);
  if (cached) {
    // Most recently used last, so the oldest is evicted first.
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const read = readRef(store, dataset);
  cache.set(key, read);
  read.catch(() => cache.delete(key));
  while (cache.size > CACHED_MANIFESTS) cache.delete(cache.keys().next().value as string);
  return read;
}

async function readRef(store: BlobStore, ref: DatasetRef): Promise<DatasetManifest> {
  const manifest = await readManifest<DatasetManifest>(store, datasetPrefix(ref.datasetId));
  if (!manifest)
    throw new Error(
      `dataset ${ref.datasetId} has no manifest (${ref.manifestKey}) in ${store.location}: ` +
        'it was never committed there, or was un-committed because of a damaged shard (run the experiment again to re-shard it)',
    );
  return manifest;
}

/** Drops a dataset's manifest from this process's cache (it was un-committed). */
export function forgetDatasetManifest(store: BlobStore, datasetId: string): void {
  cache.delete(cacheKey(store, datasetId));
}

/** The reference the workflows carry for a committed manifest. */
export function datasetRefOf(manifest: DatasetManifest): DatasetRef {
  const counts = (split: 'train' | 'test') => ({
    count: manifest.splits[split].count,
    shards: manifest.splits[split].shards.length,
  });
  return {
    datasetId: manifest.datasetId,
    manifestKey: manifestKey(datasetPrefix(manifest.datasetId)),
    splits: { train: counts('train'), test: counts('test') },
    skipped: manifest.skipped.length,
  };
}

/**
 * The activities behind the bounded history, on real images (synthetic shapes written with sharp) in
 * the filesystem store: shard ranges and the commit from the shard markers give the manifest the
 * per-shard activities give, behind a DatasetRef of a few hundred bytes; views precomputed by range
 * for a DatasetRef are the bytes the per-shard activity writes for the manifest; the manifest is read
 * once per worker process; a split is read one shard at a time (splitShards and its consumers).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import { generateShapesDataset } from '../../simclr/datasets/synthetic';
import { pixelFeatures } from '../../simclr/evaluate/pixels';
import { activityStore } from '../../activities/context';
import {
  commitDatasetShards,
  inspectDataset,
  shardDatasetRange,
  splitShards,
  uncommitDataset,
  type SplitShard,
} from '../../activities/dataset';
import { datasetManifest, forgetDatasetManifest } from '../../activities/dataset-manifests';
import {
  augmentShardKey,
  precomputeAugmentationRange,
  precomputeAugmentations,
} from '../../activities/augment';
import { gatherImages, splitFeatures, splitLabels } from '../../activities/split-reads';
import { shardRanges } from '../../workflows/shard-ranges';
import { shardingPlanOf, type DatasetManifest, type DatasetRef } from '../../contracts';
import type { BlobStore } from '../../storage/blob-store';
import { shardedDataset } from '../helpers/activity-fixture';

const savedEnv = { ...process.env };
let work: string;
let config: ExperimentConfig;
let manifest: DatasetManifest;
let ref: DatasetRef;
const BYTES = 16 * 16;

/** The store, counting its reads (get) by key. */
function countingStore(store: BlobStore): { store: BlobStore; gets: string[] } {
  const gets: string[] = [];
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'get')
        return (key: string) => {
          gets.push(key);
          return target.get(key);
        };
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: counted, gets };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-dataset-ref-'));
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
  const images = join(work, 'shapes');
  await generateShapesDataset(images, { imagesPerClass: 20, testImagesPerClass: 4, size: 16, seed: 3 });
  // 16 images per shard: a split of several shards.
  config = parseExperiment(
    {
      name: 'dataset-ref',
      dataset: { source: images, format: 'folder', imageSize: 16, channels: 1, shardSize: 16 },
      pretrain: { batchSize: 8 },
    },
    'dataset-ref test',
  );
  // The per-shard activities and the manifest, as runs before the bounded history made them.
  manifest = await shardedDataset('dataset-ref', config);
  const plan = await inspectDataset({ experimentId: 'dataset-ref', config });
  const store = await activityStore();
  // Sharded again by ranges (every shard is intact: kept) and committed from the markers.
  await store.delete(`datasets/${plan.datasetId}/MANIFEST.json`);
  const sharding = shardingPlanOf(plan);
  for (const split of ['train', 'test'] as const)
    for (const shards of shardRanges(plan.splits[split].shards, 3))
      await shardDatasetRange({ config, plan: sharding, split, shards });
  ref = await commitDatasetShards({ config, plan: sharding });
});

after(() => {
  process.env = savedEnv;
  rmSync(work, { recursive: true, force: true });
});

describe('a DatasetRef instead of the manifest', () => {
  test('the range activities commit the manifest of the per-shard ones, behind a small reference', async () => {
    assert.ok(
      manifest.splits.train.shards.length >= 8,
      `${manifest.splits.train.shards.length} train shards`,
    );
    const store = await activityStore();
    const committed = await datasetManifest(store, ref);
    assert.deepEqual({ ...committed, createdAt: '' }, { ...manifest, createdAt: '' });
    assert.deepEqual(ref.splits.train, {
      count: manifest.splits.train.count,
      shards: manifest.splits.train.shards.length,
    });
    assert.equal(ref.manifestKey, `datasets/${manifest.datasetId}/MANIFEST.json`);
    assert.ok(!JSON.stringify(ref).includes('shard-'), 'no shard key in the reference');
    assert.ok(JSON.stringify(ref).length < 400, `${JSON.stringify(ref).length} bytes`);
  });

  test('a committed dataset is planned with its reference', async () => {
    const plan = await inspectDataset({ experimentId: 'dataset-ref', config });
    assert.equal(plan.committed, true);
    assert.deepEqual(plan.ref, ref);
  });

  test('views precomputed by range for a reference are the bytes of the per-shard activity', async () => {
    const store = await activityStore();
    const result = await precomputeAugmentationRange({
      config,
      dataset: ref,
      augmentationId: 'by-range',
      epoch: 1,
      shards: { from: 2, to: 5 },
    });
    assert.deepEqual(result.shards, { from: 2, to: 5 });
    assert.equal(result.images, 48);
    assert.equal(result.reused, 0);
    for (let shard = 2; shard < 5; shard++) {
      await precomputeAugmentations({
        config,
        dataset: manifest,
        augmentationId: 'by-shard',
        epoch: 1,
        shard,
      });
      const a = await store.get(augmentShardKey(manifest.datasetId, 'by-range', 1, shard));
      const b = await store.get(augmentShardKey(manifest.datasetId, 'by-shard', 1, shard));
      assert.ok(a.equals(b), `shard ${shard}`);
    }
    const again = await precomputeAugmentationRange({
      config,
      dataset: ref,
      augmentationId: 'by-range',
      epoch: 1,
      shards: { from: 2, to: 5 },
    });
    assert.equal(again.reused, 3, 'intact views are kept');
  });

  test('the manifest is read once per worker process, and again once the dataset was un-committed', async () => {
    const { store, gets } = countingStore(await activityStore());
    forgetDatasetManifest(store, ref.datasetId);
    await datasetManifest(store, ref);
    await datasetManifest(store, { ...ref });
    assert.deepEqual(gets, [ref.manifestKey]);
    await uncommitDataset(store, ref.datasetId, []);
    await assert.rejects(
      datasetManifest(store, ref),
      /dataset .* has no manifest \(datasets\/.*MANIFEST\.json\) in file:/,
    );
    // Committed again from the markers: read once more.
    await commitDatasetShards({
      config,
      plan: shardingPlanOf(await inspectDataset({ experimentId: 'dataset-ref', config })),
    });
    await datasetManifest(store, ref);
    await datasetManifest(store, ref);
    // The first read, the failed one (not cached), the one after the new commit.
    assert.equal(gets.filter((k) => k === ref.manifestKey).length, 3);
  });

  test('an old input (the manifest itself) is used as it is', async () => {
    const { store, gets } = countingStore(await activityStore());
    assert.equal(await datasetManifest(store, manifest), manifest);
    assert.equal(gets.length, 0);
  });
});

describe('a split is read one shard at a time', () => {
  test('splitShards reads a shard only when the consumer asks for it, and holds one shard', async () => {
    const { store, gets } = countingStore(await activityStore());
    const shards = splitShards(store, manifest, 'train');
    const first = await shards.next();
    assert.equal(first.done, false);
    assert.equal(gets.length, 1, 'one shard read for the first one');
    let images = 0;
    let offset = 0;
    for (let s: IteratorResult<SplitShard> = first; !s.done; s = await shards.next()) {
      const shard: SplitShard = s.value;
      assert.equal(shard.offset, offset);
      assert.equal(shard.pixels.byteLength, shard.count * BYTES, 'one shard of pixels, not the split');
      assert.ok(shard.count <= config.dataset.shardSize);
      assert.equal(gets.length, shard.index + 1, 'no read ahead');
      offset += shard.count;
      images += shard.count;
    }
    assert.equal(images, manifest.splits.train.count);
    assert.equal(gets.length, manifest.splits.train.shards.length);
  });

  test('features, labels and subsets read shard by shard are those of the whole split', async () => {
    const store = await activityStore();
    const all = await gatherImages(store, manifest, 'train');
    assert.equal(all.count, manifest.splits.train.count);
    const shape = { height: 16, width: 16, channels: 1 as const };
    const sizes: number[] = [];
    const features = await splitFeatures(store, manifest, 'train', (pixels, count) => {
      sizes.push(pixels.byteLength);
      return pixelFeatures(pixels, count, shape);
    });
    assert.ok(
      Math.max(...sizes) <= config.dataset.shardSize * BYTES,
      'the features function sees one shard at a time',
    );
    assert.deepEqual(features.features, pixelFeatures(all.pixels, all.count, shape));
    assert.equal(features.dim, BYTES);
    assert.deepEqual(await splitLabels(store, manifest, 'train'), all.labels);
    const indices = [37, 3, 100, 3, all.count - 1];
    const subset = await gatherImages(store, manifest, 'train', indices);
    assert.equal(subset.pixels.byteLength, indices.length * BYTES, 'the subset only');
    indices.forEach((at, i) => {
      assert.deepEqual(
        subset.pixels.subarray(i * BYTES, (i + 1) * BYTES),
        all.pixels.subarray(at * BYTES, (at + 1) * BYTES),
      );
      assert.equal(subset.labels[i], all.labels[at]);
    });
    await assert.rejects(
      gatherImages(store, manifest, 'train', [all.count]),
      /index \d+ is outside the train split/,
    );
  });
});

describe('shardRanges', () => {
  test('at most 32 contiguous ranges that cover every shard once', () => {
    for (const shards of [0, 1, 5, 32, 33, 626, 5005]) {
      const ranges = shardRanges(shards);
      assert.ok(ranges.length <= 32, `${shards}: ${ranges.length} ranges`);
      let next = 0;
      for (const r of ranges) {
        assert.equal(r.from, next);
        assert.ok(r.to > r.from);
        next = r.to;
      }
      assert.equal(next, shards);
    }
    assert.deepEqual(shardRanges(3), [
      { from: 0, to: 1 },
      { from: 1, to: 2 },
      { from: 2, to: 3 },
    ]);
  });
});

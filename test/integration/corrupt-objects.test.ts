/**
 * Corrupt objects are never accepted as done (issue 8, failure path 4). In a real store (the filesystem
 * store and a real MinIO), a dataset shard, a view file and the dataset manifest are damaged the ways
 * disks and interrupted copies damage them (truncated, one byte flipped, overwritten): the reader that
 * meets the damage fails with a CorruptShardError naming the key (never a plain retryable Error),
 * and the next run of the producing activities rewrites exactly the damaged object, bit for bit, and
 * completes. The activities are called directly, as the experiment workflow sequences them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ApplicationFailure } from '@temporalio/common';
import { parseExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import { activityStore } from '../../activities/context';
import { commitDataset, inspectDataset, readDatasetManifest, shardDataset } from '../../activities/dataset';
import { gatherImages } from '../../activities/split-reads';
import {
  augmentationId,
  augmentShardKey,
  loadViews,
  precomputeAugmentations,
} from '../../activities/augment';
import { CorruptShardError } from '../../contracts/errors';
import type { BlobStore } from '../../storage/blob-store';
import { manifestKey } from '../../storage/manifest';
import type { DatasetManifest, ShardResult } from '../../contracts';
import { startTestMinio, type TestMinio } from '../helpers/minio';

let work: string;
let images: string;
let minio: TestMinio | undefined;
const savedEnv = { ...process.env };

/** 3 classes × 8 small PNGs with distinct flat colours. */
async function writeImages(root: string): Promise<void> {
  for (let c = 0; c < 3; c++) {
    mkdirSync(join(root, `class-${c}`), { recursive: true });
    for (let i = 0; i < 8; i++) {
      const background = { r: 30 * i, g: 80 * c, b: 255 - 20 * i };
      await sharp({ create: { width: 12 + i, height: 12, channels: 3, background } })
        .png()
        .toFile(join(root, `class-${c}`, `img-${i}.png`));
    }
  }
}

function configFor(source: string): ExperimentConfig {
  return parseExperiment(
    {
      name: 'corrupt-objects',
      seed: 5,
      dataset: { source, format: 'folder', imageSize: 8, channels: 3, shardSize: 6, testFraction: 0.25 },
      model: { encoder: 'resnet-mini' },
      pretrain: { batchSize: 6 },
    },
    'corrupt-objects test',
  );
}

/** One run of the dataset stage as the workflow runs it: shard only when inspect finds no intact commit. */
async function datasetStage(
  config: ExperimentConfig,
): Promise<{ manifest: DatasetManifest; resharded: boolean }> {
  const plan = await inspectDataset({ experimentId: 'corrupt-objects', config });
  if (plan.committed)
    return { manifest: await readDatasetManifest({ datasetId: plan.datasetId }), resharded: false };
  const shards: ShardResult[] = [];
  for (const split of ['train', 'test'] as const)
    for (let shard = 0; shard < plan.splits[split].shards; shard++)
      shards.push(await shardDataset({ config, plan, split, shard }));
  return { manifest: await commitDataset({ config, plan, shards }), resharded: true };
}

/** Rewrites `key` through the store with `damage` applied to its bytes. */
async function damage(store: BlobStore, key: string, how: 'truncate' | 'flip' | 'garbage'): Promise<void> {
  const bytes = Buffer.from(await store.get(key));
  if (how === 'truncate') await store.put(key, bytes.subarray(0, bytes.length - 7));
  else if (how === 'flip') {
    bytes[bytes.length >> 1] ^= 0x10;
    await store.put(key, bytes);
  } else await store.put(key, '{"datasetId": "tr');
}

function isCorrupt(key: string) {
  return (err: unknown) => {
    if (err instanceof ApplicationFailure) {
      assert.equal(err.type, 'CorruptShardError');
      assert.equal(err.nonRetryable, true, 'a retry would read the same bytes');
    } else assert.ok(err instanceof CorruptShardError, `a CorruptShardError, got ${String(err)}`);
    assert.ok((err as Error).message.includes(key), `the error names ${key}: ${(err as Error).message}`);
    return true;
  };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-corrupt-'));
  images = join(work, 'images');
  await writeImages(images);
  process.env.SIMCLR_HOME = join(work, 'home');
});

after(async () => {
  await minio?.stop();
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

const stores: [string, () => Promise<void>][] = [
  [
    'filesystem store',
    async () => {
      process.env.SIMCLR_STORE = `file://${join(work, 'store')}`;
    },
  ],
  [
    'MinIO store',
    async () => {
      minio ??= await startTestMinio();
      Object.assign(process.env, minio.env(), { SIMCLR_STORE: 's3://corrupt-objects' });
    },
  ],
];

for (const [name, useStore] of stores) {
  describe(`corrupt objects are rewritten, never trusted: ${name}`, () => {
    let config: ExperimentConfig;
    let manifest: DatasetManifest;
    let store: BlobStore;
    /** Every dataset object's bytes after the first, clean run. */
    const clean = new Map<string, Buffer>();

    before(async () => {
      await useStore();
      store = await activityStore();
      config = configFor(images);
      const first = await datasetStage(config);
      assert.equal(first.resharded, true);
      manifest = first.manifest;
      for (const o of await store.list(`datasets/${manifest.datasetId}/`))
        clean.set(o.key, await store.get(o.key));
      assert.ok(manifest.splits.train.shards.length >= 2, 'several train shards');
    });

    const assertAsClean = async () => {
      for (const [key, bytes] of clean) {
        if (key.endsWith('MANIFEST.json')) continue; // carries its creation time
        assert.deepEqual(await store.get(key), bytes, `${key} is rewritten as it was`);
      }
    };

    test('a truncated dataset shard: the next run sees no intact commit and rewrites that shard', async () => {
      const key = manifest.splits.train.shards[1].key;
      await damage(store, key, 'truncate');
      const again = await datasetStage(config);
      assert.equal(again.resharded, true, 'the damaged commit is not trusted');
      await assertAsClean();
      assert.equal((await gatherImages(store, again.manifest, 'train')).count, manifest.splits.train.count);
    });

    test('a bit-flipped dataset shard: the reader fails naming it, the next run rewrites it', async () => {
      const key = manifest.splits.test.shards[0].key;
      await damage(store, key, 'flip');
      // Same length: only the CRC tells, at the first read.
      await assert.rejects(gatherImages(store, manifest, 'test'), isCorrupt(key));
      const again = await datasetStage(config);
      assert.equal(again.resharded, true, 'the reader withdrew the commit');
      await assertAsClean();
      assert.equal((await gatherImages(store, again.manifest, 'test')).count, manifest.splits.test.count);
    });

    test('a dataset shard corrupt under its commit marker is rewritten by shardDataset, not skipped', async () => {
      const key = manifest.splits.train.shards[0].key;
      await damage(store, key, 'flip');
      // The augmentation reader meets it first: a non-retryable failure naming the shard.
      const augId = augmentationId(config, manifest);
      await assert.rejects(
        precomputeAugmentations({ config, dataset: manifest, augmentationId: augId, epoch: 0, shard: 0 }),
        isCorrupt(key),
      );
      const again = await datasetStage(config);
      assert.equal(again.resharded, true);
      await assertAsClean();
    });

    test('a manifest that is not JSON: the dataset is sharded again (intact shards kept)', async () => {
      await damage(store, manifestKey(`datasets/${manifest.datasetId}`), 'garbage');
      const again = await datasetStage(config);
      assert.equal(again.resharded, true);
      await assertAsClean();
      assert.deepEqual({ ...again.manifest, createdAt: '' }, { ...manifest, createdAt: '' });
    });

    test('a corrupt view file is computed again by precompute and by the training reader, never trained on', async () => {
      const augId = augmentationId(config, manifest);
      const input = { config, dataset: manifest, augmentationId: augId, epoch: 0, shard: 1 };
      const key = augmentShardKey(manifest.datasetId, augId, 0, 1);
      const first = await precomputeAugmentations(input);
      assert.equal(first.skipped, false);
      const views = await store.get(key);
      assert.equal((await precomputeAugmentations(input)).skipped, true, 'an intact view file is reused');

      for (const how of ['flip', 'truncate'] as const) {
        await damage(store, key, how);
        assert.equal(
          (await precomputeAugmentations(input)).skipped,
          false,
          `a ${how} view file is rewritten`,
        );
        assert.deepEqual(await store.get(key), views);

        await damage(store, key, how);
        const pixels = await loadViews(store, input);
        assert.deepEqual(Buffer.from(pixels), views.subarray(views.length - pixels.length));
        assert.deepEqual(await store.get(key), views, 'the training reader rewrote it');
      }
    });
  });
}

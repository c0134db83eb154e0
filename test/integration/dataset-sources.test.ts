/**
 * The dataset activities, called directly (outside Temporal, as plain async functions), on real image
 * folders written with sharp: inspectDataset → shardDataset for every shard → commitDataset. A folder
 * with corrupt files and a CMYK JPEG, the same folder served from a real MinIO as s3://bucket/prefix
 * (same shard bytes), and the bad inputs that must fail as non-retryable DatasetErrors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { ApplicationFailure } from '@temporalio/common';
import { parseExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import { activityStore } from '../../activities/context';
import { commitDataset, inspectDataset, shardDataset } from '../../activities/dataset';
import { decodeShard } from '../../simclr/datasets/shard-format';
import { Rng } from '../../simclr/rng';
import { MinioBlobStore } from '../../storage/minio-store';
import type { DatasetManifest, DatasetPlan, ShardResult, Split } from '../../contracts';
import { startTestMinio, type TestMinio } from '../helpers/minio';

const CLASSES = ['apple', 'banana', 'cherry'];
const PER_CLASS = 12;
/** The CMYK image: a flat colour, easy to find again in the shards. */
const CMYK_RGB = [200, 40, 40];

let work: string;
let images: string;
let minio: TestMinio | undefined;
const savedEnv = { ...process.env };

/** A noisy RGB image of `width`×`height` tinted by class, deterministic from (label, index). */
function noise(label: number, index: number, width: number, height: number): Sharp {
  const rng = new Rng({ seed: 11, epoch: label, index, view: 0 });
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.floor(rng.uniform() * 128) + (i % 3 === label ? 127 : 0);
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** 12 decodable images per class in PNG, JPEG and WebP of various sizes, one CMYK JPEG, and 2 corrupt files. */
async function writeImageFolder(root: string): Promise<void> {
  for (const [label, name] of CLASSES.entries()) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const file = join(root, name, `img-${String(i).padStart(2, '0')}`);
      if (name === 'apple' && i === 0) {
        const [r, g, b] = CMYK_RGB;
        await sharp({ create: { width: 24, height: 20, channels: 3, background: { r, g, b } } })
          .toColourspace('cmyk')
          .jpeg({ quality: 95 })
          .toFile(`${file}.jpg`);
        continue;
      }
      const img = noise(label, i, 16 + 4 * (i % 4), 16 + 3 * (i % 3));
      if (i % 3 === 0) await img.png().toFile(`${file}.png`);
      else if (i % 3 === 1) await img.jpeg().toFile(`${file}.jpg`);
      else await img.webp().toFile(`${file}.webp`);
    }
  }
  // A JPEG cut in half, and bytes that are no image at all.
  const jpeg = await noise(1, 99, 32, 32).jpeg().toBuffer();
  writeFileSync(join(root, 'banana', 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(join(root, 'cherry', 'garbage.png'), Buffer.from('this is not a PNG file at all'));
}

function configFor(source: string, overrides: { batchSize?: number } = {}): ExperimentConfig {
  return parseExperiment(
    {
      name: 'dataset-sources',
      seed: 3,
      dataset: { source, format: 'folder', imageSize: 16, channels: 3, shardSize: 8, testFraction: 0.25 },
      model: { encoder: 'resnet-mini' },
      pretrain: { batchSize: overrides.batchSize ?? 16 },
    },
    'dataset-sources test',
  );
}

/** inspect → every shard → commit, as the experiment workflow sequences them. */
async function shardAll(
  config: ExperimentConfig,
): Promise<{ plan: DatasetPlan; shards: ShardResult[]; manifest: DatasetManifest }> {
  const plan = await inspectDataset({ experimentId: 'dataset-sources', config });
  const shards: ShardResult[] = [];
  for (const split of ['train', 'test'] as const) {
    for (let shard = 0; shard < plan.splits[split].shards; shard++)
      shards.push(await shardDataset({ config, plan, split, shard }));
  }
  return { plan, shards, manifest: await commitDataset({ config, plan, shards }) };
}

/** The failure an activity raises for bad input: non-retryable, of type DatasetError. */
function datasetError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, 'DatasetError');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, pattern);
    return true;
  };
}

const shardKeys = (m: DatasetManifest, split: Split) => m.splits[split].shards.map((s) => s.key);

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-sources-'));
  images = join(work, 'images');
  await writeImageFolder(images);
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
});

after(async () => {
  await minio?.stop();
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

let local: Awaited<ReturnType<typeof shardAll>>;

test('a folder with corrupt files and a CMYK JPEG: manifest, per-class counts, skipped files with reasons', async () => {
  local = await shardAll(configFor(images));
  const { plan, manifest } = local;
  assert.equal(plan.format, 'folder');
  assert.deepEqual(plan.classNames, CLASSES);
  assert.equal(
    plan.splits.train.count + plan.splits.test.count,
    CLASSES.length * PER_CLASS + 2,
    'the listing has every file',
  );

  // The two corrupt files are skipped, each with the file and the decoder's reason.
  const skipped = manifest.skipped
    .map((s) => ({ file: relative(images, s.file), reason: s.reason }))
    .sort((a, b) => a.file.localeCompare(b.file));
  assert.deepEqual(
    skipped.map((s) => s.file),
    ['banana/truncated.jpg', 'cherry/garbage.png'],
  );
  for (const s of skipped)
    assert.match(s.reason, new RegExp(`cannot decode image .*${s.file.replace('.', '\\.')}: \\S`));

  // Every decodable image is in exactly one split, counted under its class.
  const total = manifest.splits.train.perClass.map((n, c) => n + manifest.splits.test.perClass[c]);
  assert.deepEqual(total, [PER_CLASS, PER_CLASS, PER_CLASS]);
  for (const split of ['train', 'test'] as const) {
    const s = manifest.splits[split];
    assert.equal(
      s.count,
      s.perClass.reduce((a, b) => a + b, 0),
    );
    assert.equal(
      s.count,
      s.shards.reduce((a, b) => a + b.count, 0),
    );
  }
  assert.ok(
    manifest.splits.test.count >= 6 && manifest.splits.test.count <= 12,
    `test split ${manifest.splits.test.count} of 36 (testFraction 0.25)`,
  );

  // The CMYK JPEG is in a shard, converted to sRGB, with its label.
  const store = await activityStore();
  let found = 0;
  for (const split of ['train', 'test'] as const) {
    for (const key of shardKeys(manifest, split)) {
      const shard = decodeShard(await store.get(key), key);
      assert.deepEqual(shard.shape, { height: 16, width: 16, channels: 3 });
      const bytes = 16 * 16 * 3;
      for (let i = 0; i < shard.count; i++) {
        const img = shard.pixels.subarray(i * bytes, (i + 1) * bytes);
        if (img.every((v, j) => Math.abs(v - CMYK_RGB[j % 3]) <= 24)) {
          found++;
          assert.equal(shard.labels?.[i], CLASSES.indexOf('apple'));
        }
      }
    }
  }
  assert.equal(found, 1, 'the CMYK image decoded to its colour');
});

test('shardDataset is idempotent: a second run returns the same results and rewrites nothing', async () => {
  const { plan, shards } = local;
  const store = await activityStore();
  const keys = shards.flatMap((s) => [s.key, s.key.replace(/\.bin$/, '.json')]);
  const before = await Promise.all(keys.map((k) => store.stat(k)));
  await new Promise((r) => setTimeout(r, 50));
  const config = configFor(images);
  const again = [];
  for (const s of shards) again.push(await shardDataset({ config, plan, split: s.split, shard: s.shard }));
  assert.deepEqual(again, shards);
  const afterStats = await Promise.all(keys.map((k) => store.stat(k)));
  assert.deepEqual(
    afterStats.map((s) => s.modified.getTime()),
    before.map((s) => s.modified.getTime()),
  );
  // inspect sees the committed dataset.
  assert.equal((await inspectDataset({ experimentId: 'again', config })).committed, true);
});

test('the same folder in MinIO as s3://bucket/prefix gives the same dataset, shard for shard', async () => {
  minio = await startTestMinio();
  Object.assign(process.env, minio.env());
  const bucket = await MinioBlobStore.open(minio.storeOptions('raw-images'));
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
    );
  for (const file of walk(images)) await bucket.put(`fruit/v1/${relative(images, file)}`, readFileSync(file));

  const remote = await shardAll(configFor('s3://raw-images/fruit/v1'));
  assert.notEqual(remote.plan.datasetId, local.plan.datasetId, 'another source, another id');
  assert.deepEqual(remote.manifest.splits.train.perClass, local.manifest.splits.train.perClass);
  assert.deepEqual(remote.manifest.splits.test.perClass, local.manifest.splits.test.perClass);
  assert.deepEqual(remote.manifest.skipped.map((s) => s.file.split('/').slice(-2).join('/')).sort(), [
    'banana/truncated.jpg',
    'cherry/garbage.png',
  ]);
  const store = await activityStore();
  for (const split of ['train', 'test'] as const) {
    const a = shardKeys(local.manifest, split);
    const b = shardKeys(remote.manifest, split);
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++)
      assert.ok(
        (await store.get(a[i])).equals(await store.get(b[i])),
        `${split} shard ${i} has the same bytes`,
      );
  }
});

test('bad input is a non-retryable DatasetError naming the problem', async () => {
  const missing = join(work, 'no-such-folder');
  await assert.rejects(
    inspectDataset({ experimentId: 'bad', config: configFor(missing) }),
    datasetError(/dataset\.source: '.*no-such-folder' does not exist/),
  );

  // 36 images, a batch of 64: not even one step of pretraining.
  await assert.rejects(
    inspectDataset({ experimentId: 'bad', config: configFor(images, { batchSize: 64 }) }),
    datasetError(
      /dataset\.source: '.*images' has \d+ training images, fewer than one batch \(pretrain\.batchSize = 64\)/,
    ),
  );

  // Enough files for a batch, but too few of them decode: found when the dataset is committed.
  const few = join(work, 'few');
  mkdirSync(join(few, 'train', 'a'), { recursive: true });
  mkdirSync(join(few, 'test', 'a'), { recursive: true });
  for (let i = 0; i < 4; i++) {
    await noise(0, i, 16, 16)
      .png()
      .toFile(join(few, 'train', 'a', `ok-${i}.png`));
    writeFileSync(join(few, 'train', 'a', `bad-${i}.png`), 'not an image');
  }
  await noise(0, 9, 16, 16)
    .png()
    .toFile(join(few, 'test', 'a', 'ok.png'));
  await assert.rejects(
    shardAll(configFor(few, { batchSize: 6 })),
    datasetError(
      /only 4 training images could be decoded \(4 skipped, e\.g\. .*bad-0\.png: cannot decode image/,
    ),
  );
});

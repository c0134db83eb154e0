/**
 * Bad input (issue 8): an image-folder source holding what real collections hold, written file by file
 * with sharp (real encoders) and the file system (links, empty files, names). The dataset activities run
 * on it as the workflow sequences them (inspect → every shard → commit) and every file is accounted
 * for: each good image is in a shard exactly once, with its label and its colours (EXIF orientation
 * applied, alpha flattened, CMYK / 16-bit / palette / grayscale converted), and each bad one is in the
 * manifest's `skipped` (what the report lists) with its reason. Nothing throws.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { parseExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import { activityStore } from '../../activities/context';
import { commitDataset, inspectDataset, shardDataset } from '../../activities/dataset';
import { locateSource } from '../../activities/dataset-source';
import { datasetStatsSchema } from '../../report/report';
import { escapeHtml } from '../../report/html';
import { experiment } from '../../workflows/experiment';
import { CPU_QUEUE, type ExperimentResults } from '../../contracts';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';
import { decodeShard } from '../../simclr/datasets/shard-format';
import type { DatasetManifest, ShardResult } from '../../contracts';

const SIZE = 8;
const CLASSES = ['cats', 'dogs', 'fish'];
let work: string;
let root: string;
let manifest: DatasetManifest;
const savedEnv = { ...process.env };

/** A good image: where it is, its class, and what its pixels must look like after decoding. */
interface Good {
  file: string;
  label: number;
  /** The expected pixel at (row, col) (RGB), within `tolerance`. */
  expect: (row: number, col: number) => [number, number, number];
  tolerance: number;
}
const good: Good[] = [];
/** A bad file and the reason its skip must give. */
const bad: { file: string; reason: RegExp }[] = [];

type RGB = [number, number, number];
const flat = (rgb: RGB) => () => rgb;
const solid = (width: number, height: number, [r, g, b]: RGB, channels: 3 | 4 = 3, alpha = 1) =>
  sharp({
    create: { width, height, channels, background: channels === 4 ? { r, g, b, alpha } : { r, g, b } },
  });

/** A PNG whose header declares `width`×`height` (a decompression bomb's header), with a valid IHDR CRC. */
async function bombPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await solid(4, 4, [9, 9, 9]).png().toBuffer());
  // Signature (8) then the IHDR chunk: length (4), type (4), width (4), height (4), ... , CRC over type+data.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  const ihdrLength = png.readUInt32BE(8);
  png.writeUInt32BE(crc32(png.subarray(12, 16 + ihdrLength)) >>> 0, 16 + ihdrLength);
  return png;
}

async function writeFixture(): Promise<void> {
  const at = (...p: string[]) => join(root, ...p);
  const add = async (file: string, label: number, img: Sharp, rgb: RGB, tolerance = 3) => {
    mkdirSync(join(file, '..'), { recursive: true });
    await img.toFile(file);
    good.push({ file, label, expect: flat(rgb), tolerance });
  };
  mkdirSync(at('cats'), { recursive: true });
  mkdirSync(at('fish'), { recursive: true });

  // Good images, each of its own colour, in every encoding real folders have.
  await add(at('cats', 'plain.jpg'), 0, solid(20, 16, [200, 30, 30]).jpeg({ quality: 95 }), [200, 30, 30], 6);
  await add(
    at('cats', 'cmyk.jpg'),
    0,
    solid(12, 12, [30, 160, 60]).toColourspace('cmyk').jpeg({ quality: 95 }),
    [30, 160, 60],
    24,
  );
  await add(
    at('cats', 'sixteen-bit.png'),
    0,
    solid(12, 10, [40, 80, 220]).toColourspace('rgb16').png(),
    [40, 80, 220],
  );
  // Half-transparent orange over black: flattened to half its colour.
  await add(at('cats', 'alpha.png'), 0, solid(12, 12, [240, 120, 20], 4, 0.5).png(), [120, 60, 10], 3);
  await add(
    at('cats', 'palette.png'),
    0,
    solid(12, 12, [255, 255, 0]).png({ palette: true }),
    [255, 255, 0],
    6,
  );
  await add(at('cats', 'gray.png'), 0, solid(12, 12, [90, 90, 90]).toColourspace('b-w').png(), [90, 90, 90]);
  await add(at('cats', 'one-pixel.png'), 0, solid(1, 1, [10, 200, 200]).png(), [10, 200, 200]);
  await add(at('cats', 'chat été 猫 (1).png'), 0, solid(9, 9, [150, 50, 150]).png(), [150, 50, 150]);
  await add(
    at('cats', '  spaced   name  .webp'),
    0,
    solid(9, 9, [60, 60, 160]).webp({ lossless: true }),
    [60, 60, 160],
  );
  await add(at('cats', '2024', 'summer', 'nested.png'), 0, solid(9, 9, [0, 90, 0]).png(), [0, 90, 0]);
  await add(at('fish', 'fish.gif'), 2, solid(10, 10, [255, 0, 0]).gif(), [255, 0, 0], 6);
  // EXIF orientation 6 (rotate 90° clockwise to view): stored 16 wide × 8 high, left half red, right half
  // blue; upright it is 8 × 16 with red on top, so its centre crop is red above blue.
  const left = await solid(8, 8, [255, 0, 0]).png().toBuffer();
  const sideways = solid(16, 8, [0, 0, 255]).composite([{ input: left, left: 0, top: 0 }]);
  const exif = at('cats', 'exif-rotated.jpg');
  await sideways.jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(exif);
  good.push({
    file: exif,
    label: 0,
    expect: (row) => (row < SIZE / 2 - 1 ? [255, 0, 0] : row > SIZE / 2 ? [0, 0, 255] : [-1, -1, -1]),
    tolerance: 40,
  });

  // A class folder linked in from elsewhere (the walk and the listing must both follow it).
  const elsewhere = join(work, 'elsewhere', 'dogs');
  mkdirSync(elsewhere, { recursive: true });
  for (const [i, rgb] of (
    [
      [250, 250, 250],
      [5, 5, 5],
    ] as RGB[]
  ).entries()) {
    await solid(10, 10, rgb)
      .png()
      .toFile(join(elsewhere, `dog-${i}.png`));
    good.push({ file: join(at('dogs'), `dog-${i}.png`), label: 1, expect: flat(rgb), tolerance: 3 });
  }
  symlinkSync(elsewhere, at('dogs'), 'dir');

  // Bad files, each with the reason its skip must name.
  const badFile = (file: string, data: string | Buffer, reason: RegExp) => {
    writeFileSync(file, data);
    bad.push({ file, reason });
  };
  badFile(at('cats', 'empty.jpg'), '', /cannot decode image .*empty\.jpg/);
  const jpeg = await solid(32, 32, [1, 2, 3]).jpeg().toBuffer();
  badFile(
    at('cats', 'truncated.jpg'),
    jpeg.subarray(0, jpeg.length >> 1),
    /cannot decode image .*truncated\.jpg/,
  );
  badFile(
    at('cats', 'corrupt.png'),
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    /cannot decode image .*corrupt\.png/,
  );
  badFile(at('fish', 'notes.jpg'), 'these are my notes, not a JPEG\n', /cannot decode image .*notes\.jpg/);
  badFile(at('fish', 'README'), '# fish\n', /not an image file name/);
  badFile(at('cats', 'README.md'), '# cats\n', /not an image file name/);
  badFile(
    at('fish', 'bomb.png'),
    await bombPng(20_000, 20_000),
    /cannot decode image .*bomb\.png.*pixel limit/i,
  );
  symlinkSync(join(work, 'nowhere.png'), at('fish', 'gone.png'));
  bad.push({ file: at('fish', 'gone.png'), reason: /broken symbolic link/ });
  symlinkSync('..', at('fish', 'loop'), 'dir');
  bad.push({ file: at('fish', 'loop'), reason: /loop/ });
  // Hidden files are not part of the dataset and not worth a line in the report.
  writeFileSync(at('cats', '.DS_Store'), 'Bud1');
}

function configFor(source: string): ExperimentConfig {
  return parseExperiment(
    {
      name: 'bad-input',
      seed: 9,
      dataset: { source, format: 'folder', imageSize: SIZE, channels: 3, shardSize: 5, testFraction: 0.2 },
      model: { encoder: 'resnet-mini' },
      pretrain: { epochs: 1, batchSize: 4, warmupEpochs: 0, knnEveryEpochs: 1 },
      fineTune: { labelFractions: [0.5], epochs: 1, batchSize: 4 },
      evaluation: {
        linear: { epochs: 2 },
        randomInitBaseline: false,
        baselines: { pixels: false, supervised: false, scratchFineTune: false },
      },
    },
    'bad-input test',
  );
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-bad-input-'));
  root = join(work, 'collection');
  await writeFixture();
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

test('every good image is used, every bad file is skipped with its reason, nothing throws', async () => {
  const config = configFor(root);
  const plan = await inspectDataset({ experimentId: 'bad-input', config });
  assert.deepEqual(plan.classNames, CLASSES, 'the linked class folder is a class');
  const shards: ShardResult[] = [];
  for (const split of ['train', 'test'] as const)
    for (let shard = 0; shard < plan.splits[split].shards; shard++)
      shards.push(await shardDataset({ config, plan, split, shard }));
  manifest = await commitDataset({ config, plan, shards });

  // Bad files: each skipped once, with its reason; nothing else is skipped.
  const skipped = new Map(manifest.skipped.map((s) => [s.file, s.reason]));
  assert.equal(manifest.skipped.length, skipped.size, 'no file is skipped twice');
  for (const b of bad) {
    const reason = skipped.get(b.file);
    assert.ok(reason !== undefined, `${relative(root, b.file)} is in the manifest's skipped list`);
    assert.match(reason, b.reason, `the reason for ${relative(root, b.file)}`);
  }
  assert.deepEqual(
    [...skipped.keys()].sort(),
    bad.map((b) => b.file).sort(),
    'only the bad files are skipped (hidden files are left out silently)',
  );
  // The report reads the same list.
  assert.deepEqual(datasetStatsSchema.parse(manifest).skipped, manifest.skipped);

  // Good images: all of them, each once, with its label.
  assert.equal(manifest.splits.train.count + manifest.splits.test.count, good.length);
  const store = await activityStore();
  const decoded: { pixels: Uint8Array; label: number }[] = [];
  for (const split of ['train', 'test'] as const)
    for (const s of manifest.splits[split].shards) {
      const shard = decodeShard(await store.get(s.key), s.key);
      const bytes = SIZE * SIZE * 3;
      for (let i = 0; i < shard.count; i++)
        decoded.push({ pixels: shard.pixels.subarray(i * bytes, (i + 1) * bytes), label: shard.labels![i] });
    }
  const matches = (g: Good, img: Uint8Array) => {
    for (let row = 0; row < SIZE; row++)
      for (let col = 0; col < SIZE; col++) {
        const want = g.expect(row, col);
        if (want[0] < 0) continue; // the blurred edge between two colours
        for (let c = 0; c < 3; c++)
          if (Math.abs(img[(row * SIZE + col) * 3 + c] - want[c]) > g.tolerance) return false;
      }
    return true;
  };
  const used = new Set<number>();
  for (const g of good) {
    const found = decoded.findIndex((d, i) => !used.has(i) && d.label === g.label && matches(g, d.pixels));
    assert.ok(
      found >= 0,
      `${relative(root, g.file)} is in a shard with label ${g.label} and its expected pixels`,
    );
    used.add(found);
  }
});

test('the fingerprint walk follows the linked class folder as the listing does', async () => {
  const before = await locateSource(root);
  await solid(10, 10, [1, 1, 1])
    .png()
    .toFile(join(work, 'elsewhere', 'dogs', 'dog-new.png'));
  const after = await locateSource(root);
  assert.notEqual(after.contentId, before.contentId, 'a new image in the linked folder is a new dataset');
  rmSync(join(work, 'elsewhere', 'dogs', 'dog-new.png'));
});

test('end to end on a real Temporal server: the run completes, no activity is retried, the report lists every skipped file', async () => {
  const temporal = await startTestTemporal();
  const workers = await startTestWorkers(temporal);
  try {
    const config = configFor(root);
    const experimentId = `bad-input-${Date.now()}`;
    const handle = await temporal.client.workflow.start(experiment, {
      taskQueue: CPU_QUEUE,
      workflowId: experimentId,
      args: [{ experimentId, config }],
    });
    const results: ExperimentResults = await handle.result();

    // Every activity of every workflow of the run succeeded at its first attempt.
    let activities = 0;
    for await (const w of temporal.client.workflow.list({
      query: `WorkflowId STARTS_WITH '${experimentId}'`,
    })) {
      const history = await temporal.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
      for (const e of history.events ?? []) {
        if (!e.activityTaskStartedEventAttributes) continue;
        activities++;
        assert.equal(
          e.activityTaskStartedEventAttributes.attempt,
          1,
          `an activity of ${w.workflowId} was retried`,
        );
      }
    }
    assert.ok(activities > 5, `${activities} activities ran`);

    const store = await activityStore();
    const html = (await store.get(results.reportHtmlKey)).toString('utf8');
    for (const b of bad)
      assert.ok(html.includes(escapeHtml(b.file)), `report.html lists ${relative(root, b.file)}`);
  } finally {
    await workers.shutdown();
    await temporal.teardown();
  }
});

/**
 * The demo's fallback dataset and its experiment: the generated shapes are deterministic, idempotent
 * and regenerated when their parameters change; `demoExperiment` keeps the example file as is when its
 * dataset is installed, and otherwise swaps in the generated dataset through the schema, saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadExperimentFile } from '../../config/load';
import { FASHION_MNIST_DIR } from '../../config/presets';
import { DEMO_FILE, demoExperiment } from '../../cli/commands/demo';
import { decodeImage } from '../../simclr/datasets/decode';
import { listImageFolder } from '../../simclr/datasets/folder';
import { generateShapesDataset, SHAPE_CLASSES } from '../../simclr/datasets/synthetic';
import { runSimclr } from '../helpers/cli';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `simclr-${name}-`));
const options = { imagesPerClass: 3, testImagesPerClass: 2, size: 24, seed: 5 };

test('generateShapesDataset writes labelled train/test class folders that the folder reader lists', async () => {
  const dir = tmp('shapes');
  try {
    const ds = await generateShapesDataset(dir, options);
    assert.deepEqual(ds.counts, { train: 30, test: 20 });
    assert.equal(ds.generated, true);
    for (const [split, perClass] of [
      ['train', 3],
      ['test', 2],
    ] as const) {
      const listing = await listImageFolder(join(dir, split));
      assert.deepEqual(listing.classNames, [...SHAPE_CLASSES], 'class folders in label order');
      assert.equal(listing.entries.length, perClass * SHAPE_CLASSES.length);
      for (let c = 0; c < SHAPE_CLASSES.length; c++)
        assert.equal(listing.entries.filter((e) => e.label === c).length, perClass);
    }
    const pixels = await decodeImage(join(dir, 'train', 'star', '00000.png'), { size: 24, channels: 3 });
    // Not blank: the shape is brighter than the darker background.
    assert.ok(Math.max(...pixels) - Math.min(...pixels) > 80, 'a shape on a background');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generateShapesDataset is deterministic, idempotent, and regenerates when a parameter changes', async () => {
  const a = tmp('shapes-a');
  const b = tmp('shapes-b');
  try {
    await generateShapesDataset(a, options);
    await generateShapesDataset(b, options);
    const file = (dir: string, p: string) => readFileSync(join(dir, p));
    for (const p of ['train/circle/00000.png', 'train/triangle/00002.png', 'test/dots/00001.png'])
      assert.deepEqual(file(a, p), file(b, p), p);
    // Different images within a class (position, size, rotation, colours vary).
    assert.notDeepEqual(file(a, 'train/circle/00000.png'), file(a, 'train/circle/00001.png'));

    const mtime = statSync(join(a, 'train/circle/00000.png')).mtimeMs;
    const again = await generateShapesDataset(a, options);
    assert.equal(again.generated, false);
    assert.equal(statSync(join(a, 'train/circle/00000.png')).mtimeMs, mtime, 'nothing rewritten');

    const before = file(a, 'train/circle/00000.png');
    const reseeded = await generateShapesDataset(a, { ...options, seed: 6, imagesPerClass: 2 });
    assert.equal(reseeded.generated, true);
    assert.notDeepEqual(file(a, 'train/circle/00000.png'), before, 'another seed, other images');
    assert.equal(
      (await listImageFolder(join(a, 'train'))).entries.length,
      20,
      'no image of the old generation left',
    );
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('generateShapesDataset refuses a non-empty folder it did not write', async () => {
  const dir = tmp('foreign');
  try {
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await assert.rejects(
      generateShapesDataset(dir, options),
      /is not empty and was not written by this generator/,
    );
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The demo file with its source and limits replaced (small limits keep the generation quick). */
function demoFileWith(dir: string, source: string): string {
  const text = readFileSync(DEMO_FILE, 'utf8')
    .replace(/^ {2}source: .*$/m, `  source: ${source}`)
    .replace(/^ {2}maxTrainImages: .*$/m, '  maxTrainImages: 40')
    .replace(/^ {2}maxTestImages: .*$/m, '  maxTestImages: 10')
    .replace(/^ {2}batchSize: .*$/gm, '  batchSize: 16');
  const file = join(dir, 'demo.yaml');
  writeFileSync(file, text);
  return file;
}

test('demoExperiment uses the example file as is when its Fashion-MNIST is installed', async (t) => {
  if (!statSync(FASHION_MNIST_DIR, { throwIfNoEntry: false }))
    return t.skip(`${FASHION_MNIST_DIR} is not installed`);
  const notes: string[] = [];
  const { config, synthetic } = await demoExperiment({
    datasetDir: '/nonexistent',
    forceSynthetic: false,
    note: (l) => notes.push(l),
  });
  assert.deepEqual(config, await loadExperimentFile(DEMO_FILE));
  assert.equal(synthetic, undefined);
  assert.deepEqual(notes, []);
});

test('without Fashion-MNIST the demo runs the same experiment on a generated dataset, and says so', async () => {
  const dir = tmp('demo');
  try {
    const file = demoFileWith(dir, join(dir, 'no-fashion-mnist'));
    const datasetDir = join(dir, 'shapes');
    const notes: string[] = [];
    const { config, synthetic } = await demoExperiment({
      file,
      datasetDir,
      forceSynthetic: false,
      note: (l) => notes.push(l),
    });
    assert.equal(
      notes[0],
      `Fashion-MNIST not found (apt-get install dataset-fashion-mnist); training on a generated dataset of 50 images in ${datasetDir} instead`,
    );
    assert.deepEqual(synthetic?.counts, { train: 40, test: 10 });
    assert.equal(config.dataset.source, datasetDir);
    assert.equal(config.dataset.format, 'folder');
    // Everything else is the example's experiment, defaults filled in by the schema.
    const original = await loadExperimentFile(file);
    const { dataset, name: _n, description: _d, ...rest } = config;
    const { dataset: originalDataset, name: _on, description: _od, ...originalRest } = original;
    assert.deepEqual(rest, originalRest);
    assert.deepEqual({ ...dataset, source: '', format: '' }, { ...originalDataset, source: '', format: '' });
    assert.equal(config.augmentation.aspectRatioMin, 3 / 4, 'schema defaults are filled');
    assert.equal(config.dataset.imageSize, 28);
    assert.equal((await listImageFolder(join(datasetDir, 'train'))).entries.length, 40);

    // Forced while the (here: a stand-in) dataset exists; the generated images are reused.
    mkdirSync(join(dir, 'idx'));
    for (const f of [
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
    ])
      writeFileSync(join(dir, 'idx', f), '');
    const forcedNotes: string[] = [];
    const forced = await demoExperiment({
      file: demoFileWith(dir, join(dir, 'idx')),
      datasetDir,
      forceSynthetic: true,
      note: (l) => forcedNotes.push(l),
    });
    assert.equal(forced.config.dataset.source, datasetDir);
    assert.match(
      forcedNotes[0],
      /^--force-synthetic: training on a generated dataset of 50 images in .* instead of .*idx$/,
    );
    assert.equal(forced.synthetic?.generated, false, 'generated once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simclr demo: usage, bad flags, and a dataset folder it must not overwrite', async () => {
  const home = tmp('demo-cli');
  try {
    const help = await runSimclr(['demo', '--help'], { home });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--force-synthetic/);
    const bad = await runSimclr(['demo', '--epochs', '3'], { home });
    assert.equal(bad.code, 2, bad.stderr);
    const foreign = join(home, 'mine');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'keep.txt'), 'x');
    const refused = await runSimclr(['demo', '--force-synthetic', '--dataset-dir', foreign, '--json'], {
      home,
    });
    assert.equal(refused.code, 1);
    assert.match(JSON.parse(refused.stdout).error, /cannot generate the demo dataset: .*mine is not empty/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

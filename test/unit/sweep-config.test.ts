import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../config/errors';
import { loadSweepFile, parseSweep, type SweepPlan } from '../../config/sweep';
import { sweepPresetNames, sweepPresetPath } from '../../config/sweep-presets';
import { unknownVariants } from '../../config/sweep-expectation';

const BASE = `name: base-exp
dataset:
  source: /data/fmnist
  imageSize: 28
model:
  encoder: resnet-mini
  head:
    type: nonlinear
pretrain:
  epochs: 4
  batchSize: 64
  warmupEpochs: 1
`;

/** Writes base.yaml and sweep.yaml into a fresh folder and loads the sweep. */
async function withSweep<T>(
  sweep: string,
  body: (load: () => Promise<SweepPlan>, file: string) => Promise<T>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'simclr-sweep-cfg-'));
  try {
    writeFileSync(join(dir, 'base.yaml'), BASE);
    const file = join(dir, 'sweep.yaml');
    writeFileSync(file, sweep);
    return await body(() => loadSweepFile(file), file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function configErrorOf(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError, nothing was thrown');
}

test('a grid expands to the cross product, named by its values, with the common set applied first', async () => {
  await withSweep(
    `name: g
base: base.yaml
set:
  pretrain.epochs: 2
grid:
  augmentation.cropAreaMin: [0.08, 0.2]
  pretrain.batchSize: [32, 64, 128]
`,
    async (load) => {
      const plan = await load();
      assert.equal(plan.variants.length, 6);
      assert.deepEqual(
        plan.variants.map((v) => v.name),
        [
          'cropAreaMin-0.08_batchSize-32',
          'cropAreaMin-0.08_batchSize-64',
          'cropAreaMin-0.08_batchSize-128',
          'cropAreaMin-0.2_batchSize-32',
          'cropAreaMin-0.2_batchSize-64',
          'cropAreaMin-0.2_batchSize-128',
        ],
      );
      const v = plan.variants[4];
      assert.equal(v.config.augmentation.cropAreaMin, 0.2);
      assert.equal(v.config.pretrain.batchSize, 64);
      assert.equal(v.config.pretrain.epochs, 2, 'the common set');
      assert.equal(v.config.model.encoder, 'resnet-mini', 'the base file');
      assert.deepEqual(v.knobs, { 'augmentation.cropAreaMin': 0.2, 'pretrain.batchSize': 64 });
      assert.equal(plan.maxParallel, 1, 'default: one child at a time');
      // Same augmentation and seed, whatever the batch: one stream of views; another crop: another.
      assert.equal(plan.variants[3].viewStream, plan.variants[5].viewStream);
      assert.notEqual(plan.variants[0].viewStream, plan.variants[3].viewStream);
    },
  );
});

test('variants apply dotted paths to the file as written, so defaults follow (a linear head gets one layer)', async () => {
  const plan = await parseSweep(
    {
      name: 'h',
      base: { name: 'inline', dataset: { source: '/d', imageSize: 28 } },
      variants: [
        { name: 'linear', set: { 'model.head.type': 'linear' } },
        { name: 'none', set: { 'model.head.type': 'none', 'fineTune.labelFractions': [0.1] } },
      ],
      expect: [{ holds: 'linear > none', source: 'paper' }],
    },
    'inline sweep',
    { baseDir: '.' },
  );
  assert.equal(plan.variants[0].config.model.head.type, 'linear');
  assert.equal(plan.variants[0].config.model.head.layers, 1);
  assert.deepEqual(plan.variants[1].config.fineTune.labelFractions, [0.1]);
  assert.deepEqual(Object.keys(plan.variants[0].knobs), ['model.head.type', 'fineTune.labelFractions']);
  assert.deepEqual(
    plan.variants[0].knobs['fineTune.labelFractions'],
    [0.01, 0.1],
    'the default, for the table',
  );
  assert.deepEqual(plan.expectations, [{ metric: 'linearTop1', holds: 'linear > none', source: 'paper' }]);
});

test('a misspelt path is refused naming the sweep file, the variant, the field and its line', async () => {
  await withSweep(
    `name: s
base: base.yaml
variants:
  - name: ok
  - name: bad-path
    set:
      augmentation.cropAreMin: 0.2
`,
    async (load, file) => {
      const err = await configErrorOf(load());
      assert.equal(err.source, `${file} (variant 'bad-path')`);
      assert.equal(err.issues[0].path, 'augmentation.cropAreMin');
      assert.match(err.issues[0].message, /did you mean "cropAreaMin"/);
      assert.equal(err.issues[0].line, 7);
      assert.match(err.message, /variant 'bad-path'/);
    },
  );
});

test('a bad value in a grid is refused naming the variant, the field and the line of the value', async () => {
  await withSweep(
    `name: s
base: base.yaml
grid:
  pretrain.batchSize: [64, -1]
`,
    async (load) => {
      const err = await configErrorOf(load());
      assert.match(err.source, /\(variant 'batchSize--1'\)$/);
      assert.equal(err.issues[0].path, 'pretrain.batchSize');
      assert.match(err.issues[0].message, /expected a number > 0, found -1/);
      assert.deepEqual([err.issues[0].line, err.issues[0].column], [4, 28]);
    },
  );
});

test('a combination a variant breaks is refused too (a linear head with two layers)', async () => {
  await withSweep(
    `name: s
base: base.yaml
variants:
  - name: lin
    set:
      model.head.type: linear
      model.head.layers: 2
`,
    async (load) => {
      const err = await configErrorOf(load());
      assert.match(err.source, /variant 'lin'/);
      assert.equal(err.issues[0].path, 'model.head.layers');
    },
  );
});

test('the sweep file itself: grid xor variants, dotted keys, distinct names, known variants in expectations', async () => {
  const parse = (obj: Record<string, unknown>) =>
    parseSweep({ name: 's', base: { name: 'b', dataset: { source: '/d' } }, ...obj }, 'sweep.yaml', {
      baseDir: '.',
    });
  let err = await configErrorOf(parse({}));
  assert.match(err.message, /either 'grid' .* or 'variants'/);
  err = await configErrorOf(parse({ grid: { 'pretrain.epochs': [1] }, variants: [{ name: 'a' }] }));
  assert.match(err.message, /not both/);
  err = await configErrorOf(parse({ grid: { 'pretrain epochs': [1, 2] } }));
  assert.equal(err.issues[0].path, 'grid.pretrain epochs');
  err = await configErrorOf(parse({ variants: [{ name: 'a' }, { name: 'a' }] }));
  assert.equal(err.issues[0].path, 'variants[1].name');
  err = await configErrorOf(parse({ variants: [{ name: 'a/b' }] }));
  assert.equal(err.issues[0].path, 'variants[0].name');
  err = await configErrorOf(parse({ variants: [{ name: 'a' }], expect: [{ holds: 'a > b' }] }));
  assert.equal(err.issues[0].path, 'expect[0].holds');
  assert.match(err.issues[0].message, /names no variant 'b'; the variants are a/);
  err = await configErrorOf(parse({ variants: [{ name: 'a' }], expect: [{ holds: 'a better than b' }] }));
  assert.match(err.issues[0].message, /expected comparisons like 'a > b'/);
  err = await configErrorOf(parse({ variants: [{ name: 'a', set: { 'dataset.source.x': 1 } }] }));
  assert.match(
    err.issues[0].message,
    /cannot set: dataset.source is "\/d" in the base experiment, not a mapping/,
  );
  err = await configErrorOf(
    parse({ grid: { 'pretrain.epochs': Array.from({ length: 65 }, (_, i) => i + 1) } }),
  );
  assert.match(err.message, /at most 64 combinations, found 65/);
});

test('a missing base file is refused at the base field of the sweep file', async () => {
  await withSweep('name: s\nbase: nowhere.yaml\nvariants: [{ name: a }]\n', async (load, file) => {
    const err = await configErrorOf(load());
    assert.equal(err.source, file);
    assert.equal(err.issues[0].path, 'base');
    assert.equal(err.issues[0].line, 2);
    assert.match(err.issues[0].message, /no such file/);
  });
});

test('the presets load, name the paper, and state expectations about their own variants', async () => {
  assert.deepEqual(sweepPresetNames(), [
    'augmentations',
    'head',
    'batch-epochs',
    'small-images',
    'small-images-full',
  ]);
  const sizes: Record<string, number> = {
    augmentations: 3,
    head: 3,
    'batch-epochs': 6,
    'small-images': 5,
    'small-images-full': 5,
  };
  // The demo's 6,000 images, but the one that checks the defaults at the goal's budget: all 60,000.
  const trainImages = (name: string) => (name === 'small-images-full' ? undefined : 6000);
  for (const name of sweepPresetNames()) {
    const plan = await loadSweepFile(sweepPresetPath(name));
    assert.equal(plan.variants.length, sizes[name], name);
    assert.ok(plan.expectations.length > 0, name);
    const names = plan.variants.map((v) => v.name);
    for (const e of plan.expectations) {
      assert.deepEqual(unknownVariants(e.holds, names), [], `${name}: ${e.holds}`);
      assert.match(e.source ?? '', /SimCLR/);
    }
    for (const v of plan.variants) {
      assert.equal(v.config.dataset.maxTrainImages, trainImages(name), `${name}: its scale`);
      assert.equal(v.config.model.encoder, 'resnet-mini');
    }
  }
  const aug = await loadSweepFile(sweepPresetPath('augmentations'));
  const [crop, color, both] = aug.variants.map((v) => v.config.augmentation);
  assert.equal(crop.colorJitterProbability, 0);
  assert.equal(crop.cropAreaMin, undefined, 'the size default (0.2 at 28 px)');
  assert.equal(color.cropAreaMin, 1);
  assert.equal(color.colorJitterProbability, 0.8);
  assert.deepEqual([both.cropAreaMin, both.colorJitterProbability], [undefined, 0.8]);
  const head = await loadSweepFile(sweepPresetPath('head'));
  assert.deepEqual(
    head.variants.map((v) => v.config.model.head.type),
    ['nonlinear', 'linear', 'none'],
  );
  const full = await loadSweepFile(sweepPresetPath('small-images-full'));
  assert.deepEqual(
    full.variants.map((v) => [v.name, v.config.pretrain.epochs, v.config.pretrain.batchSize]),
    full.variants.map((v) => [v.name, 15, 256]),
    'the 15-epoch, batch-256 budget of examples/fashion-mnist-mini.yaml',
  );
  const defaults = full.variants.find((v) => v.name === 'defaults')!.config;
  assert.deepEqual(
    [defaults.pretrain.temperature, defaults.pretrain.learningRate, defaults.augmentation.cropAreaMin],
    [undefined, undefined, undefined],
    'the defaults child sets none of the knobs the others move: the size defaults apply',
  );
  assert.throws(() => sweepPresetPath('heads'), /did you mean "head"/);
});

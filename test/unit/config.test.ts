import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAPER_DEFAULTS as P } from '../../config/defaults';
import {
  CONFIG_ERROR,
  ConfigError,
  loadExperimentFile,
  parseExperiment,
  parseJsonExperiment,
  parseYamlExperiment,
} from '../../config/load';
import { encoderRepresentationWidth, resolveExperiment } from '../../config/resolve';
import { experimentSchema, ENCODERS, type ExperimentInput } from '../../config/schema';
import { fingerprint, stableStringify } from '../../config/fingerprint';
import { getPreset, presetNames } from '../../config/presets';
import { editDistance, closestMatches } from '../../config/suggest';
import { representationDim } from '../../simclr/resnet';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const minimal = (extra: Partial<ExperimentInput> = {}): ExperimentInput => ({
  name: 't',
  dataset: { source: '/data' },
  ...extra,
});

/** The error thrown by fn, checked to be a ConfigError. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

async function configErrorAsync(fn: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'simclr-config-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('PAPER_DEFAULTS are the values of the SimCLR paper and its reference code', () => {
  // [SimCLR] App. A: augmentation.
  assert.equal(P.augmentation.cropAreaMin, 0.08);
  assert.equal(P.augmentation.cropAreaMax, 1.0);
  assert.equal(P.augmentation.aspectRatioMin, 3 / 4);
  assert.equal(P.augmentation.aspectRatioMax, 4 / 3);
  assert.equal(P.augmentation.flipProbability, 0.5);
  assert.equal(P.augmentation.colorStrength, 1.0);
  assert.equal(P.augmentation.colorJitterProbability, 0.8);
  assert.equal(P.augmentation.grayscaleProbability, 0.2);
  assert.equal(P.augmentation.blurProbability, 0.5);
  assert.deepEqual(
    [P.augmentation.blurSigmaMin, P.augmentation.blurSigmaMax, P.augmentation.blurKernelFraction],
    [0.1, 2.0, 0.1],
  );
  // App. B.9 (CIFAR-10): strength 0.5, no blur, τ 0.5; reference's cifar_stem at ≤ 32 px.
  assert.equal(P.augmentation.colorStrengthCifar10, 0.5);
  assert.equal(P.augmentation.blurProbabilityCifar10, 0);
  assert.equal(P.pretrain.temperatureCifar10, 0.5);
  assert.equal(P.imageSize.smallImageMaxSide, 32);
  // Sec. 2.3 default setting.
  assert.equal(P.pretrain.batchSize, 4096);
  assert.equal(P.pretrain.epochs, 100);
  assert.equal(P.pretrain.optimizer, 'lars');
  assert.equal(P.pretrain.learningRate, 0.3);
  assert.equal(P.pretrain.learningRateScaling, 'linear');
  assert.equal(P.pretrain.weightDecay, 1e-6);
  assert.equal(P.pretrain.warmupEpochs, 10);
  assert.equal(P.pretrain.temperature, 0.1);
  assert.equal(P.model.projectionDim, 128);
  assert.equal(P.model.headLayers, 2);
  // App. B.1 sqrt rule; the README: 0.3 linear and 0.075 sqrt agree at batch 4096 (both 4.8).
  assert.equal(P.pretrain.sqrtLearningRate, 0.075);
  assert.equal((P.pretrain.learningRate * 4096) / 256, P.pretrain.sqrtLearningRate * Math.sqrt(4096));
  // run.py / lars_optimizer.py.
  assert.equal(P.pretrain.momentum, 0.9);
  assert.equal(P.pretrain.trustCoefficient, 0.001);
  // App. B.5 fine-tuning, App. B.6 linear evaluation, Sec. 6 label fractions.
  assert.deepEqual([...P.fineTune.labelFractions], [0.01, 0.1]);
  assert.deepEqual(
    [P.fineTune.learningRate, P.fineTune.epochs, P.fineTune.weightDecay, P.fineTune.momentum],
    [0.05, 30, 0, 0.9],
  );
  assert.equal((P.fineTune.learningRate * 4096) / 256, 0.8);
  assert.deepEqual(
    [P.linearEval.learningRate, P.linearEval.epochs, P.linearEval.weightDecay, P.linearEval.momentum],
    [0.1, 90, 0, 0.9],
  );
  assert.deepEqual([P.knn.k, P.knn.temperature], [200, 0.1]);
});

test('a minimal file gets the paper defaults, and at 224 px the ImageNet setup', () => {
  const cfg = parseExperiment(minimal({ dataset: { source: '/data', imageSize: 224 } }), 'inline');
  assert.equal(cfg.pretrain.batchSize, 4096);
  assert.equal(cfg.pretrain.epochs, 100);
  assert.equal(cfg.pretrain.weightDecay, 1e-6);
  assert.equal(cfg.augmentation.cropAreaMin, undefined, 'a size default, resolved below');
  assert.equal(cfg.model.head.layers, 2);
  assert.equal(cfg.model.head.outputDim, 128);
  assert.deepEqual(cfg.fineTune.labelFractions, [0.01, 0.1]);
  const r = resolveExperiment(cfg, { imageSize: 224, channels: 3 });
  assert.equal(r.augmentation.cropAreaMin, 0.08);
  assert.equal(r.pretrain.learningRateScaling, 'linear');
  assert.equal(r.pretrain.warmupEpochs, 10);
  assert.equal(r.pretrain.learningRate, 0.3);
  assert.equal(r.pretrain.effectiveLearningRate, 4.8);
  assert.equal(r.pretrain.temperature, 0.1);
  assert.equal(r.augmentation.colorStrength, 1.0);
  assert.equal(r.augmentation.blurProbability, 0.5);
  assert.equal(r.model.stem, 'imagenet');
  // Parsing is idempotent: a stored config (e.g. in report.json) parses back to itself.
  assert.deepEqual(experimentSchema.parse(cfg), cfg);
});

test('a field error names the file, the field path, what was expected and what was found, with its line', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      ['name: bad', 'dataset:', '  source: /data', 'pretrain:', '  epochs: 5', '  batchSize: -3', ''].join(
        '\n',
      ),
    );
    const err = await configErrorAsync(() => loadExperimentFile(file));
    assert.equal(err.name, 'ConfigError');
    assert.equal(err.name, CONFIG_ERROR);
    assert.equal(err.source, file);
    assert.equal(
      err.message,
      `Invalid experiment config ${file}:\n  - pretrain.batchSize (line 6, column 14): expected a number > 0, found -3`,
    );
    assert.deepEqual(err.issues, [
      { path: 'pretrain.batchSize', message: 'expected a number > 0, found -3', line: 6, column: 14 },
    ]);
  });
});

test('several errors are all reported, with types, enums, ranges, list items and missing fields', () => {
  const err = configError(() =>
    parseExperiment(
      {
        name: 'x',
        dataset: { channels: 2, imageSize: 'big' },
        model: { encoder: 'resnet-18' },
        pretrain: { epochs: 2.5 },
        fineTune: { labelFractions: [0.1, 2] },
        augmentation: { cropAreaMin: 0.9, cropAreaMax: 0.5 },
      },
      'exp.json',
    ),
  );
  const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
  assert.equal(byPath['dataset.source'], 'required: expected a string, found nothing');
  assert.equal(byPath['dataset.channels'], 'expected one of 1, 3, found 2');
  assert.equal(byPath['dataset.imageSize'], 'expected a number, found "big"');
  assert.equal(
    byPath['model.encoder'],
    'expected one of "resnet-mini", "resnet18", "resnet34", "resnet50", found "resnet-18" (did you mean "resnet18"?)',
  );
  assert.equal(byPath['pretrain.epochs'], 'expected an integer, found 2.5');
  assert.equal(byPath['fineTune.labelFractions[1]'], 'expected a number <= 1, found 2');
  assert.equal(byPath['augmentation.cropAreaMin'], 'expected at most cropAreaMax (0.5), found 0.9');
  assert.match(err.message, /^Invalid experiment config exp\.json \(7 problems\):\n/);
});

test('unknown keys come with the nearest known key, also from another section', () => {
  const yaml = [
    'name: x',
    'dataset:',
    '  source: /data',
    'pretrain:',
    '  optimzer: lars',
    '  effectiveLearningRate: 2',
    'batchSize: 64',
    'modle: {}',
    '',
  ].join('\n');
  const err = configError(() => parseYamlExperiment(yaml, 'exp.yaml'));
  assert.deepEqual(
    err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`),
    [
      '5:3 pretrain.optimzer: unknown key (did you mean "optimizer"?)',
      '6:3 pretrain.effectiveLearningRate: not a setting: derived from pretrain.learningRate, learningRateScaling and batchSize; set those instead',
      '7:1 batchSize: unknown key here (did you mean pretrain.batchSize, fineTune.batchSize or evaluation.linear.batchSize?)',
      '8:1 modle: unknown key (did you mean "model"?)',
    ],
  );
  // Inside the head (a schema with a transform) and two levels down.
  const nested = configError(() =>
    parseExperiment(
      { ...minimal(), model: { head: { typ: 'linear' } }, evaluation: { linear: { epoch: 3 } } },
      'e.yaml',
    ),
  );
  assert.deepEqual(
    nested.issues.map((i) => `${i.path}: ${i.message}`),
    [
      'model.head.typ: unknown key (did you mean "type"?)',
      'evaluation.linear.epoch: unknown key (did you mean "epochs"?)',
    ],
  );
  const far = configError(() => parseExperiment({ ...minimal(), pretrain: { zzzz: 1 } }, 'e.yaml'));
  assert.match(far.issues[0].message, /^unknown key; known keys here: epochs, batchSize, /);
  assert.equal(editDistance('optimzier', 'optimizer'), 1);
  assert.deepEqual(closestMatches('batch_size', ['batchSize', 'shardSize']), ['batchSize']);
  assert.deepEqual(closestMatches('xyz', ['batchSize']), []);
});

test('YAML and JSON syntax errors give the line and column', async () => {
  const dup = configError(() =>
    parseYamlExperiment('name: x\ndataset:\n  source: /d\nname: y\n', 'dup.yaml'),
  );
  assert.equal(dup.message, 'dup.yaml:4:1: YAML syntax error (DUPLICATE_KEY): Map keys must be unique');
  assert.deepEqual([dup.issues[0].line, dup.issues[0].column], [4, 1]);
  const tab = configError(() => parseYamlExperiment('name: x\ndataset:\n\tsource: /d\n', 'tab.yaml'));
  assert.match(tab.message, /^tab\.yaml:3:1: YAML syntax error \(TAB_AS_INDENT\)/);
  const json = configError(() =>
    parseJsonExperiment('{\n  "name": "x",\n  "dataset": {"source": "/d",}\n}', 'e.json'),
  );
  assert.match(json.message, /^e\.json:3:30: JSON syntax error: /);
  await withTempDir(async (dir) => {
    const file = join(dir, 'e.json');
    writeFileSync(file, '{\n  "name": "x",\n  "dataset": { "source": "/d", "imageSize": 0 }\n}\n');
    const err = await configErrorAsync(() => loadExperimentFile(file));
    assert.deepEqual(err.issues, [
      { path: 'dataset.imageSize', message: 'expected a number > 0, found 0', line: 3, column: 45 },
    ]);
    const empty = join(dir, 'empty.yml');
    writeFileSync(empty, '# nothing\n');
    assert.match(
      (await configErrorAsync(() => loadExperimentFile(empty))).message,
      /empty\.yml: expected a mapping of settings .* found nothing/,
    );
  });
});

test('a missing file or a wrong extension is a ConfigError naming the path', async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, 'nope.yaml');
    const err = await configErrorAsync(() => loadExperimentFile(missing));
    assert.equal(
      err.message,
      `${missing}: cannot read the experiment file: no such file (looked at ${missing})`,
    );
    const dirErr = await configErrorAsync(() => loadExperimentFile(join(dir, 'sub.yaml')));
    assert.match(dirErr.message, /no such file/);
    const txt = await configErrorAsync(() => loadExperimentFile(join(dir, 'exp.txt')));
    assert.match(
      txt.message,
      /exp\.txt: expected an experiment file ending in \.yaml, \.yml, \.json, found '\.txt'/,
    );
  });
});

test('combinations that cannot work are ConfigErrors, from the loader and from resolve', () => {
  const bad = (extra: Partial<ExperimentInput>) =>
    configError(() => parseExperiment(minimal(extra), 'c.yaml')).issues;
  assert.deepEqual(bad({ pretrain: { batchSize: 1 } }), [
    {
      path: 'pretrain.batchSize',
      message: 'expected at least 2 (NT-Xent needs other images in the batch as negatives), found 1',
    },
  ]);
  assert.equal(bad({ model: { head: { type: 'linear', layers: 3 } } })[0].path, 'model.head.layers');
  assert.match(
    bad({ model: { head: { type: 'linear', layers: 3 } } })[0].message,
    /expected 1 for a 'linear' head/,
  );
  assert.deepEqual(bad({ fineTune: { fromHeadLayer: 2 } }), [
    {
      path: 'fineTune.fromHeadLayer',
      message:
        "expected at most 1 (0 = the encoder output; the 'nonlinear' head has 2 dense layers), found 2",
    },
  ]);
  assert.equal(
    bad({ model: { head: { type: 'none' } }, fineTune: { fromHeadLayer: 1 } })[0].path,
    'fineTune.fromHeadLayer',
  );
  assert.deepEqual(bad({ fineTune: { labelFractions: [0.1, 0.01, 0.1] } }), [
    {
      path: 'fineTune.labelFractions[2]',
      message: 'expected distinct label fractions, found 0.1 again (also at [0])',
    },
  ]);
  assert.equal(bad({ pretrain: { epochs: 5, warmupEpochs: 10 } })[0].path, 'pretrain.warmupEpochs');
  // Unset, the warm-up is a tenth of a short training, never longer than it.
  assert.equal(
    resolveExperiment(parseExperiment(minimal({ pretrain: { epochs: 5 } }), 'c.yaml'), {
      imageSize: 32,
      channels: 3,
    }).pretrain.warmupEpochs,
    0.5,
  );
  assert.equal(
    bad({ dataset: { source: '/d', maxTrainImages: 100 }, pretrain: { batchSize: 256, epochs: 20 } })[0].path,
    'dataset.maxTrainImages',
  );
  // A linear head without `layers` is one layer; fine-tuning from the encoder output is valid.
  const linear = parseExperiment(minimal({ model: { head: { type: 'linear' } } }), 'c.yaml');
  assert.equal(linear.model.head.layers, 1);
  // resolve checks configs built in code (here the schema's output, edited).
  const cfg = parseExperiment(minimal(), 'c.yaml');
  const err = configError(() =>
    resolveExperiment(
      { ...cfg, pretrain: { ...cfg.pretrain, batchSize: 1 } },
      { imageSize: 32, channels: 3 },
    ),
  );
  assert.match(
    err.message,
    /^Invalid experiment config experiment 't':\n {2}- pretrain\.batchSize: expected at least 2/,
  );
  assert.match(
    configError(() => resolveExperiment(cfg, { imageSize: 0, channels: 3 })).message,
    /dataset\.imageSize: expected the source's image side/,
  );
});

test('resolve: 28 and 32 px get the small-image defaults, 48 px the ImageNet augmentation with the CIFAR stem, 224 px ImageNet', () => {
  const cfg = parseExperiment(
    minimal({ model: { encoder: 'resnet-mini' }, pretrain: { batchSize: 256 } }),
    'r.yaml',
  );
  const r28 = resolveExperiment(cfg, { imageSize: 28, channels: 1 });
  assert.deepEqual(
    [
      r28.augmentation.cropAreaMin,
      r28.augmentation.colorStrength,
      r28.augmentation.blurProbability,
      r28.pretrain.temperature,
      r28.pretrain.learningRateScaling,
      r28.model.stem,
      r28.dataset.channels,
      r28.dataset.imageSize,
    ],
    [0.2, 1.0, 0, 0.2, 'sqrt', 'cifar', 1, 28],
  );
  assert.equal(r28.model.head.hiddenDim, 64);
  // 0.6 × √256: the small-image base of the square-root rule (config/small-images.ts).
  assert.equal(r28.pretrain.learningRate, 0.6);
  assert.ok(Math.abs(r28.pretrain.effectiveLearningRate - 9.6) < 1e-12);
  assert.equal(r28.pretrain.warmupEpochs, 10);
  const r32 = resolveExperiment(cfg, { imageSize: 32, channels: 3 });
  assert.deepEqual(
    [
      r32.augmentation.cropAreaMin,
      r32.augmentation.colorStrength,
      r32.augmentation.blurProbability,
      r32.pretrain.temperature,
      r32.model.stem,
    ],
    [0.2, 0.5, 0, 0.2, 'cifar'],
  );
  const r48 = resolveExperiment(cfg, { imageSize: 48, channels: 3 });
  assert.deepEqual(
    [
      r48.augmentation.cropAreaMin,
      r48.augmentation.colorStrength,
      r48.augmentation.blurProbability,
      r48.pretrain.temperature,
      r48.pretrain.learningRateScaling,
      r48.model.stem,
    ],
    [0.08, 1, 0.5, 0.1, 'linear', 'cifar'],
  );
  const r224 = resolveExperiment(cfg, { imageSize: 224, channels: 3 });
  assert.deepEqual(
    [
      r224.augmentation.colorStrength,
      r224.augmentation.blurProbability,
      r224.pretrain.temperature,
      r224.model.stem,
    ],
    [1, 0.5, 0.1, 'imagenet'],
  );
  assert.equal(resolveExperiment(cfg, { imageSize: 64, channels: 3 }).model.stem, 'cifar');
  assert.equal(resolveExperiment(cfg, { imageSize: 65, channels: 3 }).model.stem, 'imagenet');

  // Values set in the file win over the size defaults.
  const set = parseExperiment(
    minimal({
      dataset: { source: '/d', channels: 3 },
      augmentation: { cropAreaMin: 0.08, colorStrength: 0.8, blurProbability: 0.2 },
      model: { stem: 'imagenet', head: { hiddenDim: 100 } },
      pretrain: { temperature: 0.7, learningRateScaling: 'linear', warmupEpochs: 3 },
    }),
    'r.yaml',
  );
  const rs = resolveExperiment(set, { imageSize: 28, channels: 1 });
  assert.deepEqual(
    [
      rs.augmentation.cropAreaMin,
      rs.augmentation.colorStrength,
      rs.augmentation.blurProbability,
      rs.pretrain.temperature,
      rs.pretrain.learningRateScaling,
      rs.pretrain.learningRate,
      rs.pretrain.warmupEpochs,
      rs.model.stem,
      rs.model.head.hiddenDim,
      rs.dataset.channels,
    ],
    [0.08, 0.8, 0.2, 0.7, 'linear', 0.3, 3, 'imagenet', 100, 3],
  );
  // A crop range the small-image minimum does not fit in names the field and the default.
  assert.match(
    configError(() =>
      resolveExperiment(parseExperiment(minimal({ augmentation: { cropAreaMax: 0.1 } }), 'r.yaml'), {
        imageSize: 28,
        channels: 1,
      }),
    ).message,
    /augmentation\.cropAreaMax: expected at least cropAreaMin \(0\.2, the default for this image size\), found 0\.1/,
  );
});

test('resolve: learning rate scaling, with the paper base of each rule when none is set', () => {
  const lr = (pretrain: ExperimentInput['pretrain'], imageSize = 64) => {
    const r = resolveExperiment(parseExperiment(minimal({ pretrain }), 'lr.yaml'), {
      imageSize,
      channels: 3,
    }).pretrain;
    return [r.learningRate, r.effectiveLearningRate];
  };
  // Small images: the square-root rule with the measured base 0.6 (LARS, SGD); Adam 0.001.
  assert.deepEqual(lr({ batchSize: 256 }, 32), [0.6, 9.6]);
  assert.deepEqual(lr({ batchSize: 256, learningRateScaling: 'linear' }, 32), [0.3, 0.3]);
  assert.deepEqual(
    lr({ batchSize: 256, optimizer: 'adam', learningRateScaling: 'none' }, 32),
    [0.001, 0.001],
  );
  assert.deepEqual(lr({ batchSize: 256, optimizer: 'adam', learningRateScaling: 'none' }), [0.001, 0.001]);
  assert.deepEqual(lr({}), [0.3, 4.8]);
  assert.deepEqual(lr({ batchSize: 512 }), [0.3, 0.6]);
  assert.deepEqual(lr({ batchSize: 256, learningRateScaling: 'sqrt' }), [0.075, 1.2]);
  assert.deepEqual(lr({ learningRateScaling: 'sqrt' }), [0.075, 4.8]);
  assert.deepEqual(lr({ batchSize: 1024, learningRate: 1.5, learningRateScaling: 'sqrt' }), [1.5, 48]);
  assert.deepEqual(lr({ learningRate: 0.01, learningRateScaling: 'none' }), [0.01, 0.01]);
});

test('resolve: head hidden width is the representation width of the encoder, as simclr/resnet.ts builds it', () => {
  for (const encoder of ENCODERS) {
    for (const w of [0.5, 1, 2, 1.3])
      assert.equal(encoderRepresentationWidth(encoder, w), representationDim(encoder, w), `${encoder} ×${w}`);
  }
  assert.deepEqual(
    ENCODERS.map((e) => encoderRepresentationWidth(e, 1)),
    [64, 512, 512, 2048],
  );
  const cfg = parseExperiment(minimal({ model: { encoder: 'resnet50', widthMultiplier: 2 } }), 'h.yaml');
  assert.equal(resolveExperiment(cfg, { imageSize: 224, channels: 3 }).model.head.hiddenDim, 4096);
});

test('fingerprint: independent of key order, sensitive to values and array order', () => {
  const a = { z: 1, a: { y: [1, 2, { q: true, p: null }], x: 'é' }, u: undefined };
  const b = { a: { x: 'é', y: [1, 2, { p: null, q: true }] }, z: 1 };
  assert.equal(stableStringify(a), '{"a":{"x":"é","y":[1,2,{"p":null,"q":true}]},"z":1}');
  assert.equal(stableStringify(a), stableStringify(b));
  assert.equal(fingerprint(a), fingerprint(b));
  assert.match(fingerprint(a), /^[0-9a-f]{16}$/);
  assert.notEqual(fingerprint({ a: 1 }), fingerprint({ a: 2 }));
  assert.notEqual(fingerprint({ a: 1 }), fingerprint({ b: 1 }));
  assert.notEqual(fingerprint([1, 2]), fingerprint([2, 1]));
  assert.notEqual(fingerprint({ a: '1' }), fingerprint({ a: 1 }));
  // The same value always gives the same id (a fixed vector, so a change of the scheme is noticed).
  assert.equal(fingerprint({ source: '/d', imageSize: 28 }), fingerprint({ imageSize: 28, source: '/d' }));
  // sha256 of the text {"a":[1,2],"b":"c"}, computed with sha256sum.
  assert.equal(fingerprint({ b: 'c', a: [1, 2] }), '3bb60d6e8a54ad03');
  assert.throws(() => stableStringify({ a: NaN }), /\$\.a is NaN/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => stableStringify(cyclic), /cycle/);
  assert.throws(() => stableStringify(new Map()), /Map/);
  // A config and its reordered copy fingerprint the same.
  const cfg = parseExperiment(getPreset('cifar10'), 'preset');
  const reordered = JSON.parse(JSON.stringify(cfg, Object.keys(cfg).sort().reverse()));
  assert.equal(fingerprint(cfg), fingerprint({ ...reordered, ...cfg }));
});

test('presets: every preset parses and resolves; unknown names suggest the closest', () => {
  assert.deepEqual(presetNames(), ['fashion-mnist-small', 'fashion-mnist', 'cifar10', 'imagenet-like']);
  for (const name of presetNames()) {
    const cfg = parseExperiment(getPreset(name), `preset ${name}`);
    assert.equal(cfg.name, name);
    resolveExperiment(cfg, { imageSize: cfg.dataset.imageSize ?? 32, channels: cfg.dataset.channels ?? 3 });
  }
  const small = parseExperiment(getPreset('fashion-mnist-small'), 'preset');
  assert.equal(small.dataset.source, '/usr/share/datasets/fashion-mnist');
  assert.deepEqual(
    [small.dataset.imageSize, small.dataset.channels, small.model.encoder, small.pretrain.batchSize],
    [28, 1, 'resnet-mini', 128],
  );
  assert.equal(small.dataset.maxTrainImages, 6000);
  const copy = getPreset('cifar10');
  copy.name = 'changed';
  assert.equal(getPreset('cifar10').name, 'cifar10');
  assert.equal(
    configError(() => getPreset('cifar-10')).message,
    'preset \'cifar-10\': unknown preset (did you mean "cifar10"?); known presets: fashion-mnist-small, fashion-mnist, cifar10, imagenet-like',
  );
});

test('every file in examples/ parses, and each matches its preset once resolved', async () => {
  const files = readdirSync(EXAMPLES).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length >= 4, `examples: ${files.join(', ')}`);
  const presetOf: Record<string, string> = {
    'fashion-mnist-small.yaml': 'fashion-mnist-small',
    'fashion-mnist.yaml': 'fashion-mnist',
    'cifar10.yaml': 'cifar10',
    'image-folder.yaml': 'imagenet-like',
  };
  for (const f of files) {
    const cfg = await loadExperimentFile(join(EXAMPLES, f));
    // Fashion-MNIST files may leave imageSize to the source (28 px, 1 channel).
    const source = {
      imageSize: cfg.dataset.imageSize ?? 28,
      channels: cfg.dataset.channels ?? (cfg.dataset.imageSize === undefined ? 1 : 3),
    } as const;
    const resolved = resolveExperiment(cfg, source);
    const preset = presetOf[f];
    if (preset)
      assert.deepEqual(resolved, resolveExperiment(parseExperiment(getPreset(preset), preset), source), f);
  }
  for (const f of Object.keys(presetOf)) assert.ok(files.includes(f), `examples/${f} is missing`);
});

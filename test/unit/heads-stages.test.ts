/**
 * The projection head as separate stages (simclr/heads.ts headStages) and fine-tuning from a head
 * layer ([SimCLRv2] Sec. 2: the encoder plus head layers 1..k fine-tuned under a new classifier):
 * chaining the stages equals the head, they share its weights (restored checkpoints included), and
 * fineTune / the fineTune activity really put the copied stages between encoder and classifier.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../simclr/backend';
import { experimentSchema, fineTuneSchema } from '../../config/schema';
import { combinationIssues } from '../../config/validate';
import { buildProjectionHead, type ProjectionHead } from '../../simclr/heads';
import { fineTune, type LabelledImages } from '../../simclr/evaluate/finetune';
import { mulberry32 } from '../../simclr/evaluate/prng';
import { createPretrainer } from '../../simclr/train';
import { restorePretrainer, saveCheckpoint } from '../../simclr/checkpoint';
import type { ImageShape } from '../../simclr/images';
import { FsBlobStore } from '../../storage/fs-store';
import { pretrainerOptions, syntheticViews } from '../helpers/pretrain';

before(async () => {
  await initBackend('tensorflow');
});

/** Every weight of `model` (moving statistics included) by stable name. */
function snapshot(model: tf.LayersModel): Map<string, number[]> {
  return new Map(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
}

/** Gives every weight of `model` seeded random values (variances positive) so no layer is an identity. */
function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const random = mulberry32(seed);
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      const positive = w.originalName.endsWith('moving_variance') || w.originalName.endsWith('gamma');
      const current = w.read();
      return tf.tensor(
        Array.from({ length: current.size }, () => (positive ? 0.5 + random() : random() - 0.5)),
        current.shape,
      );
    });
    if (values.length > 0) layer.setWeights(values);
    tf.dispose(values);
  }
}

/** [head(x), stage chain(x), each stage's output, layerOutputs(x)[1..]] in inference mode. */
function compare(head: ProjectionHead, stages: tf.LayersModel[], x: tf.Tensor2D) {
  return tf.tidy(() => {
    const z = head.model.predict(x) as tf.Tensor2D;
    const perStage: number[][][] = [];
    let y: tf.Tensor2D = x;
    for (const s of stages) {
      y = s.predict(y) as tf.Tensor2D;
      perStage.push(y.arraySync());
    }
    const outs = head
      .layerOutputs(x, false)
      .slice(1)
      .map((o) => o.arraySync());
    return { z: z.arraySync(), chain: y.arraySync(), perStage, outs };
  });
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length);
  let max = 0;
  a.forEach((row, i) => {
    assert.equal(row.length, b[i].length);
    row.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i][j]))));
  });
  return max;
}

describe('ProjectionHead.headStages', () => {
  const base = { outputDim: 8, hiddenDim: 12 };
  const cases = [
    {
      what: 'nonlinear, 3 layers, batch norm',
      cfg: { ...base, type: 'nonlinear', layers: 3, batchNorm: true },
      layers: [
        ['Dense', 'SimclrBatchNorm', 'SimclrRelu'],
        ['Dense', 'SimclrBatchNorm', 'SimclrRelu'],
        ['Dense', 'SimclrBatchNorm'],
      ],
    },
    {
      what: 'nonlinear, 2 layers, no batch norm',
      cfg: { ...base, type: 'nonlinear', layers: 2, batchNorm: false },
      layers: [['Dense', 'SimclrRelu'], ['Dense']],
    },
    {
      what: 'linear',
      cfg: { ...base, type: 'linear', layers: 1, batchNorm: true },
      layers: [['Dense', 'SimclrBatchNorm']],
    },
  ] as const;

  for (const c of cases) {
    it(`${c.what}: stage k is dense k (+BN) (+ReLU) and chaining all stages equals the head in inference mode`, () => {
      const head = buildProjectionHead({ ...c.cfg, seed: 4 }, 20);
      randomizeWeights(head.model, 7);
      const stages = head.headStages();
      assert.equal(stages.length, head.numLayers);
      assert.deepEqual(
        stages.map((s) => s.layers.slice(1).map((l) => l.getClassName())),
        c.layers.map((l) => [...l]),
      );
      assert.deepEqual(
        stages.map((s) => [s.inputs[0].shape, s.outputs[0].shape]),
        stages.map((_, k) => [
          [null, k === 0 ? 20 : 12],
          [null, k === stages.length - 1 ? 8 : 12],
        ]),
      );
      // The stages hold the head's own weight variables (the same objects), each exactly once.
      const stageWeights = stages.flatMap((s) => s.weights);
      assert.equal(stageWeights.length, head.model.weights.length);
      assert.deepEqual(new Set(stageWeights), new Set(head.model.weights));
      const x = tf.randomNormal([6, 20], 0, 1, 'float32', 3) as tf.Tensor2D;
      const r = compare(head, stages, x);
      assert.ok(
        maxAbsDiff(
          r.z,
          r.z.map((row) => row.map(() => 0)),
        ) > 0.01,
        'the head output is not trivially zero',
      );
      assert.ok(maxAbsDiff(r.chain, r.z) <= 1e-6, `stage chain vs head: ${maxAbsDiff(r.chain, r.z)}`);
      r.perStage.forEach((s, k) =>
        assert.ok(maxAbsDiff(s, r.outs[k]) <= 1e-6, `stage ${k} vs layerOutputs[${k + 1}]`),
      );
      x.dispose();
      for (const s of stages) s.dispose();
      head.model.dispose();
    });
  }

  it("'none' has no stages", () => {
    const head = buildProjectionHead({ ...base, type: 'none', layers: 2, batchNorm: true }, 20);
    assert.deepEqual(head.headStages(), []);
    head.model.dispose();
  });

  it('stages share the head weights: later changes show through, and disposal in either order frees everything', () => {
    const before = tf.memory().numTensors;
    const head = buildProjectionHead({ ...base, type: 'nonlinear', layers: 2, batchNorm: true, seed: 1 }, 20);
    const stages = head.headStages();
    randomizeWeights(head.model, 9); // after the stages were made
    const x = tf.randomNormal([4, 20], 0, 1, 'float32', 5) as tf.Tensor2D;
    const r1 = compare(head, stages, x);
    assert.ok(maxAbsDiff(r1.chain, r1.z) <= 1e-6);
    // Stages first: the head still works and holds its weights.
    for (const s of stages) s.dispose();
    const z = tf.tidy(() => (head.model.predict(x) as tf.Tensor2D).arraySync());
    assert.deepEqual(z, r1.z);
    head.model.dispose();
    // Head first: the stages still work; disposing them releases the last references.
    const head2 = buildProjectionHead(
      { ...base, type: 'nonlinear', layers: 2, batchNorm: true, seed: 1 },
      20,
    );
    const stages2 = head2.headStages();
    head2.model.dispose();
    const y = tf.tidy(() => stages2.reduce((t, s) => s.predict(t) as tf.Tensor2D, x).arraySync());
    assert.equal(y.length, 4);
    for (const s of stages2) s.dispose();
    x.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  });

  describe('after a checkpoint round trip', () => {
    let root: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'simclr-stages-'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('the restored head gives the same stages with the same weights and outputs', async () => {
      const shape: ImageShape = { height: 12, width: 12, channels: 1 };
      const options = pretrainerOptions(shape, 4, {
        seed: 2,
        model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { outputDim: 16, layers: 3 } },
        pretrain: { batchSize: 8, epochs: 2, warmupEpochs: 0 },
      });
      const store = new FsBlobStore(root);
      const original = createPretrainer(options);
      // A few steps move the weights and the moving batch-norm statistics off their initial values.
      for (let s = 0; s < 3; s++) {
        const b = syntheticViews(s, 8, shape);
        await original.step(b.view1, b.view2, b.count);
      }
      // Made before saving: the extra uses of the head's layers must not disturb its serialisation.
      const stages = original.head.headStages();
      const key = await saveCheckpoint(store, 'exp/checkpoints', original);
      const { pretrainer: restored } = await restorePretrainer(store, key, options);
      const restoredStages = restored.head.headStages();
      try {
        assert.equal(restoredStages.length, 3);
        stages.forEach((s, k) => {
          const a = snapshot(s);
          const b = snapshot(restoredStages[k]);
          assert.deepEqual([...b.keys()], [...a.keys()], `stage ${k} weight names`);
          for (const [name, v] of a) assert.deepEqual(b.get(name), v, `stage ${k} ${name}`);
        });
        const h = tf.randomNormal(
          [5, restored.head.model.inputs[0].shape[1] as number],
          0,
          1,
          'float32',
          8,
        ) as tf.Tensor2D;
        const r = compare(restored.head, restoredStages, h);
        const o = compare(original.head, stages, h);
        h.dispose();
        assert.ok(maxAbsDiff(r.chain, r.z) <= 1e-6, 'restored stage chain vs restored head');
        assert.ok(maxAbsDiff(r.chain, o.z) <= 1e-6, 'restored stage chain vs original head');
      } finally {
        for (const s of [...stages, ...restoredStages]) s.dispose();
        original.dispose();
        restored.dispose();
      }
    });
  });
});

describe('fine-tuning from a head layer', () => {
  // 8×8 grey images of four classes that a horizontal flip (the fine-tuning augmentation) leaves alone:
  // a bright upper band, a bright lower band, bright side columns, a bright middle column pair.
  const shape: ImageShape = { height: 8, width: 8, channels: 1 };
  const bright = [
    (y: number) => y < 3,
    (y: number) => y >= 5,
    (_y: number, x: number) => x < 2 || x >= 6,
    (_y: number, x: number) => x === 3 || x === 4,
  ];
  function images(count: number, seed: number): LabelledImages {
    const random = mulberry32(seed);
    const labels = Array.from({ length: count }, (_, i) => i % 4);
    const pixels = new Uint8Array(count * 64);
    labels.forEach((c, i) => {
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          pixels[i * 64 + y * 8 + x] = (bright[c](y, x) ? 160 : 50) + Math.floor(random() * 90);
    });
    return { pixels, labels, count, shape };
  }
  const encoder = () =>
    tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 1],
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 11 }),
        }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 16, kernelInitializer: tf.initializers.glorotUniform({ seed: 12 }) }),
      ],
    });
  const train = images(160, 1);
  const test = images(120, 2);
  const config = fineTuneSchema.parse({ epochs: 6, batchSize: 32, learningRate: 0.8, fromHeadLayer: 1 });

  async function run(zeroFirstLayer: boolean) {
    const f = encoder();
    const head = buildProjectionHead(
      { type: 'nonlinear', layers: 2, outputDim: 8, batchNorm: true, hiddenDim: 16, seed: 3 },
      16,
    );
    if (zeroFirstLayer) {
      const dense0 = head.model.getLayer('head_dense0');
      const zeros = dense0.getWeights().map((w) => tf.zerosLike(w));
      dense0.setWeights(zeros);
      tf.dispose(zeros);
    }
    const headBefore = snapshot(head.model);
    const encoderBefore = snapshot(f);
    const stages = head.headStages();
    const numTensors = tf.memory().numTensors;
    try {
      const result = await fineTune({
        encoder: f,
        headStages: stages,
        config,
        train,
        trainIndices: Array.from({ length: 80 }, (_, i) => i),
        test,
        seed: 5,
      });
      assert.equal(tf.memory().numTensors, numTensors, 'fineTune leaked tensors');
      assert.deepEqual(snapshot(head.model), headBefore, 'the pretrained head is not modified');
      assert.deepEqual(snapshot(f), encoderBefore, 'the pretrained encoder is not modified');
      return result;
    } finally {
      for (const s of stages) s.dispose();
      head.model.dispose();
      f.dispose();
    }
  }

  it('fromHeadLayer 1 trains encoder + first head stage + classifier and leaves the originals unchanged', async () => {
    const r = await run(false);
    assert.equal(r.fromHeadLayer, 1);
    assert.ok(r.top1 > 0.9, `fine-tuned top-1 ${r.top1}`);
    assert.ok(r.lossCurve[r.lossCurve.length - 1] < r.lossCurve[0] / 2, `loss ${r.lossCurve.join(' → ')}`);
  });

  it('uses the copied head weights: a first head layer with zero kernel blocks all learning', async () => {
    // dense0 = 0 → batch norm of a constant = β = 0 → ReLU(0) = 0 with zero gradient: the classifier sees
    // only zeros. If fineTune ignored the stages, or re-initialised them, it would learn as above.
    const r = await run(true);
    assert.ok(r.top1 <= 0.3, `top-1 ${r.top1} (chance 0.25)`);
    const ln4 = Math.log(4);
    assert.ok(
      r.lossCurve.every((l) => Math.abs(l - ln4) < 0.05),
      `loss stays at ln 4: ${r.lossCurve.join(', ')}`,
    );
  });
});

describe('fineTune.fromHeadLayer validation', () => {
  const issues = (model: object, fromHeadLayer: number) =>
    combinationIssues(
      experimentSchema.parse({
        name: 't',
        dataset: { source: '/unused' },
        model,
        fineTune: { fromHeadLayer },
      }),
    ).filter((i) => i.path === 'fineTune.fromHeadLayer');

  it('allows 0 … dense layers − 1: none → 0, linear → 0, nonlinear with L layers → L − 1', () => {
    assert.deepEqual(issues({ head: { type: 'none' } }, 0), []);
    assert.equal(issues({ head: { type: 'none' } }, 1).length, 1);
    assert.deepEqual(issues({ head: { type: 'linear', layers: 1 } }, 0), []);
    assert.match(
      issues({ head: { type: 'linear', layers: 1 } }, 1)[0]?.message ?? '',
      /at most 0 .*'linear' head has 1 dense layer\b/,
    );
    assert.deepEqual(issues({ head: { type: 'nonlinear', layers: 3 } }, 2), []);
    assert.match(
      issues({ head: { type: 'nonlinear', layers: 3 } }, 3)[0]?.message ?? '',
      /at most 2 .*found 3/,
    );
  });
});

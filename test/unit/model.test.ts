import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../simclr/backend';
import { buildEncoder, representationDim, type EncoderOptions } from '../../simclr/resnet';
import { buildProjectionHead } from '../../simclr/heads';
import type { Encoder } from '../../config/schema';
import { BatchNorm, normalizeInTraining } from '../../simclr/kernels/batch-norm';
import { InputConv } from '../../simclr/kernels/input-conv';

function trainableParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce(
    (sum, w) => sum + w.shape.reduce((a: number, b) => a * (b as number), 1),
    0,
  );
}

function layerClassCount(model: tf.LayersModel, className: string): number {
  return model.layers.filter((l) => l.getClassName() === className).length;
}

before(async () => {
  await initBackend('tensorflow');
});

describe('buildEncoder', () => {
  it('ResNet-18 with the ImageNet stem has the 11.18 M parameters of torchvision resnet18 without its fc layer', () => {
    const f = buildEncoder({
      encoder: 'resnet18',
      widthMultiplier: 1,
      stem: 'imagenet',
      inputShape: [224, 224, 3],
    });
    // torchvision resnet18: 11,689,512 parameters, of which the fc layer has 512·1000 + 1000.
    assert.equal(trainableParams(f), 11_689_512 - 513_000);
    assert.deepEqual(f.outputs[0].shape, [null, 512]);
  });

  it('ResNet-50 has the 23.5 M parameters of torchvision resnet50 without its fc layer', () => {
    const f = buildEncoder({
      encoder: 'resnet50',
      widthMultiplier: 1,
      stem: 'imagenet',
      inputShape: [224, 224, 3],
    });
    // torchvision resnet50: 25,557,032 parameters, fc 2048·1000 + 1000.
    assert.equal(trainableParams(f), 25_557_032 - 2_049_000);
    assert.deepEqual(f.outputs[0].shape, [null, 2048]);
  });

  it('ResNet-34 has 16 basic blocks and the CIFAR stem has no max-pool', () => {
    const f = buildEncoder({
      encoder: 'resnet34',
      widthMultiplier: 1,
      stem: 'cifar',
      inputShape: [32, 32, 3],
    });
    assert.equal(layerClassCount(f, 'Add'), 3 + 4 + 6 + 3);
    assert.equal(layerClassCount(f, 'MaxPooling2D'), 0);
    const g = buildEncoder({
      encoder: 'resnet34',
      widthMultiplier: 1,
      stem: 'imagenet',
      inputShape: [64, 64, 3],
    });
    assert.equal(layerClassCount(g, 'MaxPooling2D'), 1);
  });

  it('resnet-mini: CIFAR stem 16·w, one basic block per stage of widths [16, 32, 64]·w, output [N, 64·w]', () => {
    const f = buildEncoder({
      encoder: 'resnet-mini',
      widthMultiplier: 1,
      stem: 'cifar',
      inputShape: [28, 28, 1],
    });
    const conv = (k: number, cin: number, cout: number) => k * k * cin * cout;
    const bn = (c: number) => 2 * c; // γ and β
    const expected =
      conv(3, 1, 16) +
      bn(16) +
      // stage 1: 16 → 16, stride 1, identity shortcut
      conv(3, 16, 16) +
      bn(16) +
      conv(3, 16, 16) +
      bn(16) +
      // stage 2: 16 → 32, stride 2, projection shortcut
      conv(3, 16, 32) +
      bn(32) +
      conv(3, 32, 32) +
      bn(32) +
      conv(1, 16, 32) +
      bn(32) +
      // stage 3: 32 → 64, stride 2, projection shortcut
      conv(3, 32, 64) +
      bn(64) +
      conv(3, 64, 64) +
      bn(64) +
      conv(1, 32, 64) +
      bn(64);
    assert.equal(trainableParams(f), expected);
    assert.equal(layerClassCount(f, 'Add'), 3);
    const before = tf.memory().numTensors;
    const shape = tf.tidy(
      () => (f.apply(tf.randomUniform([3, 28, 28, 1]), { training: true }) as tf.Tensor).shape,
    );
    assert.deepEqual(shape, [3, 64]);
    assert.equal(
      tf.memory().numTensors,
      before,
      'a training forward pass inside tidy leaves no tensors behind',
    );
  });

  it('runs forward at a real input size with the ImageNet stem and a width multiplier', () => {
    const f = buildEncoder({
      encoder: 'resnet18',
      widthMultiplier: 0.5,
      stem: 'imagenet',
      inputShape: [64, 64, 3],
    });
    const y = tf.tidy(() => f.apply(tf.randomUniform([2, 64, 64, 3]), { training: false }) as tf.Tensor);
    assert.deepEqual(y.shape, [2, 256]);
    assert.ok(y.dataSync().every(Number.isFinite));
    y.dispose();
  });

  it('representationDim follows the last stage width, the expansion and the width multiplier', () => {
    assert.equal(representationDim('resnet-mini', 1), 64);
    assert.equal(representationDim('resnet-mini', 2), 128);
    assert.equal(representationDim('resnet18', 1), 512);
    assert.equal(representationDim('resnet34', 2), 1024);
    assert.equal(representationDim('resnet50', 1), 2048);
    assert.equal(representationDim('resnet50', 4), 8192);
    const f = buildEncoder({
      encoder: 'resnet50',
      widthMultiplier: 2,
      stem: 'cifar',
      inputShape: [32, 32, 3],
    });
    assert.deepEqual(f.outputs[0].shape, [null, representationDim('resnet50', 2)]);
  });

  it('weight names are unique within a model and identical when the model is built again', () => {
    const a = buildEncoder({
      encoder: 'resnet18',
      widthMultiplier: 1,
      stem: 'cifar',
      inputShape: [32, 32, 3],
    });
    const b = buildEncoder({
      encoder: 'resnet18',
      widthMultiplier: 1,
      stem: 'cifar',
      inputShape: [32, 32, 3],
    });
    const names = a.weights.map((w) => w.originalName);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(
      b.weights.map((w) => w.originalName),
      names,
    );
    assert.ok(names.includes('encoder_stem_conv/kernel'));
    assert.ok(names.includes('encoder_s4_b1_bn2/moving_variance'));
    const other = buildEncoder({
      encoder: 'resnet18',
      widthMultiplier: 1,
      stem: 'cifar',
      inputShape: [32, 32, 3],
      name: 'target',
    });
    assert.ok(other.weights.every((w) => w.originalName.startsWith('target_')));
  });

  it('the same seed gives the same initial weights', () => {
    const opts: EncoderOptions = {
      encoder: 'resnet-mini',
      widthMultiplier: 1,
      stem: 'cifar',
      inputShape: [8, 8, 1],
      seed: 7,
    };
    const a = buildEncoder(opts).getWeights();
    const b = buildEncoder(opts).getWeights();
    const c = buildEncoder({ ...opts, seed: 8 }).getWeights();
    assert.deepEqual(a[0].dataSync(), b[0].dataSync());
    assert.notDeepEqual(a[0].dataSync(), c[0].dataSync());
  });

  it('rejects an unknown encoder and a bad width multiplier with a message naming them', () => {
    assert.throws(
      () =>
        buildEncoder({
          encoder: 'vgg' as unknown as Encoder,
          widthMultiplier: 1,
          stem: 'cifar',
          inputShape: [8, 8, 1],
        }),
      /unknown encoder 'vgg'/,
    );
    assert.throws(
      () => buildEncoder({ encoder: 'resnet18', widthMultiplier: 0, stem: 'cifar', inputShape: [8, 8, 1] }),
      /widthMultiplier/,
    );
  });
});

describe('BatchNorm', () => {
  it('normalises with the batch statistics in training and updates the moving averages with momentum 0.9', () => {
    const input = tf.input({ shape: [2] });
    const layer = new BatchNorm({ name: 'bn_test', momentum: 0.9, epsilon: 1e-5 });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
    // Channel 0: [1, 3] (mean 2, biased variance 1); channel 1: [10, 30] (mean 20, variance 100).
    const x = tf.tensor2d([
      [1, 10],
      [3, 30],
    ]);
    const y = model.apply(x, { training: true }) as tf.Tensor;
    const yv = y.dataSync();
    const s0 = Math.sqrt(1 + 1e-5);
    const s1 = Math.sqrt(100 + 1e-5);
    const expected = [-1 / s0, -10 / s1, 1 / s0, 10 / s1];
    expected.forEach((e, i) => assert.ok(Math.abs(yv[i] - e) < 1e-5, `y[${i}] = ${yv[i]}, expected ${e}`));
    const byName = Object.fromEntries(model.weights.map((w) => [w.originalName, w.read().dataSync()]));
    const mm = byName['bn_test/moving_mean'];
    const mv = byName['bn_test/moving_variance'];
    assert.ok(Math.abs(mm[0] - 0.1 * 2) < 1e-6 && Math.abs(mm[1] - 0.1 * 20) < 1e-5);
    // The moving variance takes the unbiased batch variance (n/(n−1) = 2 here), as TensorFlow's fused batch norm.
    assert.ok(Math.abs(mv[0] - (0.9 + 0.1 * 2)) < 1e-6 && Math.abs(mv[1] - (0.9 + 0.1 * 200)) < 1e-4);
    // Inference uses the moving statistics.
    const z = (model.apply(tf.tensor2d([[1.2, 5]]), { training: false }) as tf.Tensor).dataSync();
    assert.ok(Math.abs(z[0] - (1.2 - 0.2) / Math.sqrt(1.1 + 1e-5)) < 1e-5, `${z[0]}`);
    assert.ok(Math.abs(z[1] - (5 - 2) / Math.sqrt(20.9 + 1e-5)) < 1e-5, `${z[1]}`);
    tf.dispose([x, y]);
  });
});

describe('normalizeInTraining', () => {
  it('the native fused kernel and the composed tfjs ops agree on y, the statistics and the gradients', () => {
    for (const shape of [
      [6, 5, 4, 3],
      [7, 3],
    ]) {
      const channels = shape[shape.length - 1];
      const x = tf.randomNormal(shape, 2, 3);
      const gamma = tf.tensor1d(Array.from({ length: channels }, (_, i) => 0.5 + i));
      const beta = tf.tensor1d(Array.from({ length: channels }, (_, i) => i - 1));
      const dy = tf.randomNormal(shape);
      const run = (implementation: 'auto' | 'composed') =>
        tf.tidy(() => {
          const stats: number[][] = [];
          const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(
              tf.mul(
                normalizeInTraining(
                  a,
                  g as tf.Tensor1D,
                  b as tf.Tensor1D,
                  1e-5,
                  (m, v) => stats.push(Array.from(m.dataSync()), Array.from(v.dataSync())),
                  implementation,
                ),
                dy,
              ),
            );
          const y = normalizeInTraining(x, gamma, beta, 1e-5, () => {}, implementation).dataSync();
          const grads = tf
            .grads(f)([x, gamma, beta])
            .map((t) => t.dataSync());
          return { y, grads, stats };
        });
      const native = run('auto');
      const composed = run('composed');
      const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
        assert.equal(a.length, b.length, what);
        for (let i = 0; i < a.length; i++)
          assert.ok(
            Math.abs(a[i] - b[i]) < 1e-3 * Math.max(1, Math.abs(b[i])),
            `${what}[${i}]: ${a[i]} vs ${b[i]}`,
          );
      };
      close(native.y, composed.y, `y ${shape}`);
      native.grads.forEach((g, i) => close(g, composed.grads[i], `grad ${i} ${shape}`));
      close(native.stats[0], composed.stats[0], `mean ${shape}`);
      close(native.stats[1], composed.stats[1], `variance ${shape}`);
      tf.dispose([x, gamma, beta, dy]);
    }
  });
  it('with the running averages passed in, both report m · moving + (1 − m) · batch statistic', () => {
    const x = tf.randomNormal([5, 4, 4, 3], 1, 2);
    const gamma = tf.ones([3]) as tf.Tensor1D;
    const beta = tf.zeros([3]) as tf.Tensor1D;
    const moving = { mean: tf.tensor1d([0.5, -1, 2]), variance: tf.tensor1d([1, 2, 0.5]), momentum: 0.9 };
    const run = (implementation: 'auto' | 'composed', withMoving: boolean) =>
      tf.tidy(() => {
        const out: number[][] = [];
        normalizeInTraining(
          x,
          gamma,
          beta,
          1e-5,
          (m, v) => out.push(Array.from(m.dataSync()), Array.from(v.dataSync())),
          implementation,
          withMoving ? moving : undefined,
        );
        return out;
      });
    const batch = run('composed', false);
    const expected = [0, 1].map((k) =>
      batch[k].map(
        (s, c) => 0.9 * Array.from((k === 0 ? moving.mean : moving.variance).dataSync())[c] + 0.1 * s,
      ),
    );
    for (const implementation of ['auto', 'composed'] as const) {
      const got = run(implementation, true);
      [0, 1].forEach((k) =>
        got[k].forEach((g, c) =>
          assert.ok(
            Math.abs(g - expected[k][c]) < 1e-4 * Math.max(1, Math.abs(expected[k][c])),
            `${implementation} ${k ? 'variance' : 'mean'}[${c}]: ${g} vs ${expected[k][c]}`,
          ),
        ),
      );
    }
    tf.dispose([x, gamma, beta, moving.mean, moving.variance]);
  });
});

describe('InputConv', () => {
  it('computes what tf.layers.conv2d computes, with the same kernel gradient (1 and 3 channels, strides 1 and 2)', () => {
    for (const [channels, strides, k] of [
      [1, 1, 3],
      [1, 2, 7],
      [3, 1, 3],
      [3, 2, 7],
    ]) {
      const x = tf.randomNormal([2, 9, 9, channels]);
      const kernel = tf.randomNormal([k, k, channels, 4]);
      const ours = new InputConv({ name: `ic_${channels}_${strides}`, filters: 4, kernelSize: k, strides });
      const ref = tf.layers.conv2d({
        filters: 4,
        kernelSize: k,
        strides,
        padding: 'same',
        useBias: false,
        name: `ref_${channels}_${strides}`,
      });
      ours.apply(x);
      ref.apply(x);
      assert.equal(ours.weights[0].originalName, `ic_${channels}_${strides}/kernel`);
      ours.setWeights([kernel]);
      ref.setWeights([kernel]);
      const dy = tf.randomNormal(ours.computeOutputShape(x.shape) as number[]);
      const grad = (layer: tf.layers.Layer) => {
        const v = (layer.weights[0] as unknown as { val: tf.Variable }).val;
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, dy)), [v]);
        return { value: value.dataSync()[0], grad: grads[v.name].dataSync() };
      };
      const a = grad(ours);
      const b = grad(ref);
      assert.ok(
        Math.abs(a.value - b.value) < 1e-3 * Math.max(1, Math.abs(b.value)),
        `y·dy ${channels}/${strides}: ${a.value} vs ${b.value}`,
      );
      a.grad.forEach((g, i) =>
        assert.ok(
          Math.abs(g - b.grad[i]) < 1e-3 * Math.max(1, Math.abs(b.grad[i])),
          `dW[${i}] ${channels}/${strides}: ${g} vs ${b.grad[i]}`,
        ),
      );
      assert.deepEqual(
        ours.computeOutputShape([null, 9, 9, channels]),
        ref.computeOutputShape([null, 9, 9, channels]),
      );
      tf.dispose([x, kernel, dy]);
      ours.dispose();
      ref.dispose();
    }
  });
});

describe('buildProjectionHead', () => {
  const base = { outputDim: 8, batchNorm: true, hiddenDim: 16 };

  it('nonlinear, 2 layers: dense (no bias) → BN → ReLU → dense (no bias) → BN without β', () => {
    const g = buildProjectionHead({ ...base, type: 'nonlinear', layers: 2 }, 32);
    assert.equal(g.numLayers, 2);
    assert.equal(layerClassCount(g.model, 'Dense'), 2);
    assert.equal(layerClassCount(g.model, 'SimclrBatchNorm'), 2);
    assert.equal(layerClassCount(g.model, 'SimclrRelu'), 1);
    const names = g.model.trainableWeights.map((w) => w.originalName);
    assert.deepEqual(names, [
      'head_dense0/kernel',
      'head_bn0/gamma',
      'head_bn0/beta',
      'head_dense1/kernel',
      'head_bn1/gamma',
    ]);
    assert.deepEqual(g.model.outputs[0].shape, [null, 8]);
  });

  it('nonlinear, 3 layers as in SimCLRv2; without batch norm the dense layers have biases', () => {
    const g3 = buildProjectionHead({ ...base, type: 'nonlinear', layers: 3 }, 32);
    assert.equal(layerClassCount(g3.model, 'Dense'), 3);
    assert.equal(layerClassCount(g3.model, 'SimclrBatchNorm'), 3);
    const plain = buildProjectionHead({ ...base, type: 'nonlinear', layers: 2, batchNorm: false }, 32);
    assert.deepEqual(
      plain.model.trainableWeights.map((w) => w.originalName),
      ['head_dense0/kernel', 'head_dense0/bias', 'head_dense1/kernel', 'head_dense1/bias'],
    );
  });

  it('linear is one dense layer; none is the identity', () => {
    const lin = buildProjectionHead({ ...base, type: 'linear', layers: 2 }, 32);
    assert.equal(lin.numLayers, 1);
    assert.equal(layerClassCount(lin.model, 'Dense'), 1);
    assert.deepEqual(lin.model.outputs[0].shape, [null, 8]);
    const none = buildProjectionHead({ ...base, type: 'none', layers: 2 }, 32);
    assert.equal(none.numLayers, 0);
    assert.equal(none.model.trainableWeights.length, 0);
    const x = tf.randomNormal([4, 32]) as tf.Tensor2D;
    const y = none.model.apply(x) as tf.Tensor;
    assert.deepEqual(y.dataSync(), x.dataSync());
    assert.equal(none.layerOutputs(x, true).length, 1);
    tf.dispose([x, y]);
  });

  it('layerOutputs gives the input of every layer and then z, consistent with the model', () => {
    const g = buildProjectionHead({ ...base, type: 'nonlinear', layers: 3 }, 32);
    const x = tf.randomNormal([5, 32]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const { shapes, last, z } = tf.tidy(() => {
      const outs = g.layerOutputs(x, false);
      return {
        shapes: outs.map((o) => o.shape),
        last: outs[outs.length - 1].arraySync(),
        z: (g.model.apply(x, { training: false }) as tf.Tensor).arraySync(),
      };
    });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(shapes, [
      [5, 32],
      [5, 16],
      [5, 16],
      [5, 8],
    ]);
    assert.deepEqual(last, z);
    x.dispose();
  });
});

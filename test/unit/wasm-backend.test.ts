/**
 * The WASM fallback backend trains: its backprop kernels (simclr/kernels/wasm-kernels.ts) give the same
 * gradients as tfjs' reference 'cpu' backend, and the real Pretrainer runs on it. This file owns its
 * process (node --test runs each file in its own), so it activates 'wasm' and switches to 'cpu' only
 * to compute reference values.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, describeBackend, type BackendInfo } from '../../simclr/backend';
import { WASM_BACKPROP_KERNELS, wasmKernelLimits } from '../../simclr/kernels/wasm-kernels';
import { createPretrainer } from '../../simclr/train';
import { buildEncoder } from '../../simclr/resnet';
import { fineTune, type LabelledImages } from '../../simclr/evaluate/finetune';
import { fineTuneSchema } from '../../config/schema';
import { pretrainerOptions, syntheticViews } from '../helpers/pretrain';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Deterministic values in [−0.5, 0.5) (32-bit LCG). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * dL/dx and dL/dW of L = Σ conv(x, W) ⊙ R for a fixed random R (so dy = R), on `backend`. `depthwise`
 * uses tf.depthwiseConv2d (W: [kh, kw, c, multiplier]).
 */
async function convGradients(
  backend: string,
  xShape: [number, number, number, number],
  wShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  depthwise = false,
): Promise<{ dx: Float32Array; dw: Float32Array }> {
  assert.ok(await tf.setBackend(backend));
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(xShape), 1), xShape);
    const w = tf.tensor4d(values(size(wShape), 2), wShape);
    const conv = (a: tf.Tensor4D, b: tf.Tensor4D) =>
      depthwise ? tf.depthwiseConv2d(a, b, strides, pad) : tf.conv2d(a, b, strides, pad);
    const r = tf.tensor(values(size(conv(x, w).shape), 3), conv(x, w).shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), r)),
    )([x, w]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  assert.ok(
    worst <= 1e-4,
    `${what}: |wasm − cpu| = ${worst} at ${at} (wasm ${actual[at]}, cpu ${expected[at]})`,
  );
}

async function assertSameGradients(
  xShape: [number, number, number, number],
  wShape: [number, number, number, number],
  strides: number | [number, number],
  pad: Pad,
  depthwise = false,
) {
  const label = `${depthwise ? 'depthwise ' : ''}x ${xShape.join('×')}, W ${wShape.join('×')}, strides ${strides}, pad ${JSON.stringify(pad)}`;
  const wasm = await convGradients('wasm', xShape, wShape, strides, pad, depthwise);
  const cpu = await convGradients('cpu', xShape, wShape, strides, pad, depthwise);
  await tf.setBackend('wasm');
  // A gradient of all zeros would pass trivially.
  assert.ok(
    cpu.dw.some((v) => Math.abs(v) > 1e-3) && cpu.dx.some((v) => Math.abs(v) > 1e-3),
    `${label}: reference is not trivial`,
  );
  assertClose(wasm.dw, cpu.dw, `${label}: dW`);
  assertClose(wasm.dx, cpu.dx, `${label}: dx`);
}

let info: BackendInfo;

before(async () => {
  info = await initBackend('wasm');
});

after(async () => {
  await tf.setBackend('wasm');
});

describe('wasm backend', () => {
  it('is active with the backprop kernels registered, and says so', () => {
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(
      describeBackend(info),
      /^backend: wasm via @tensorflow\/tfjs-backend-wasm \((no )?SIMD, \d+ threads?\) \[requested 'wasm'\]$/,
    );
    for (const name of WASM_BACKPROP_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), `${name} is registered`);
    // What `auto` logs, in both outcomes.
    const native = { requested: 'auto', name: 'tensorflow', provider: '@tensorflow/tfjs-node' } as const;
    assert.equal(
      describeBackend(native),
      'backend: tensorflow via @tensorflow/tfjs-node [auto: native TensorFlow loaded]',
    );
    assert.equal(
      describeBackend({ ...info, requested: 'auto', fallbackReason: 'native TensorFlow did not load (x)' }),
      `backend: wasm via ${info.provider} [auto fallback: native TensorFlow did not load (x)]`,
    );
  });

  it('conv2d gradients match the cpu backend (1 and 3 channels, strides, same/valid/explicit padding)', async () => {
    await assertSameGradients([2, 8, 8, 1], [3, 3, 1, 4], 1, 'same');
    await assertSameGradients([2, 9, 7, 3], [3, 3, 3, 5], 2, 'same');
    await assertSameGradients([3, 10, 10, 3], [3, 3, 3, 2], 2, 'valid');
    await assertSameGradients([2, 8, 8, 3], [1, 1, 3, 4], 2, 'same');
    await assertSameGradients([2, 11, 11, 1], [5, 5, 1, 4], 3, 'valid');
    await assertSameGradients([2, 12, 10, 3], [7, 7, 3, 8], [2, 1], 'same');
    await assertSameGradients([1, 7, 7, 3], [3, 3, 3, 3], 1, [
      [0, 0],
      [2, 1],
      [0, 3],
      [0, 0],
    ]);
    await assertSameGradients([2, 6, 6, 3], [2, 2, 3, 2], 2, 'valid');
  });

  it('conv2d filter gradients match when the patch matrix is split into chunks of images', async () => {
    const saved = wasmKernelLimits.maxPatchFloats;
    wasmKernelLimits.maxPatchFloats = 3 * 3 * 3 * 8 * 8 * 2; // two 8×8×3 images per chunk
    try {
      await assertSameGradients([5, 8, 8, 3], [3, 3, 3, 4], 1, 'same');
    } finally {
      wasmKernelLimits.maxPatchFloats = saved;
    }
  });

  it('depthwise conv2d gradients match the cpu backend', async () => {
    await assertSameGradients([2, 8, 8, 3], [3, 3, 3, 1], 1, 'same', true);
    await assertSameGradients([2, 9, 9, 3], [3, 3, 3, 2], 2, 'valid', true);
    await assertSameGradients([2, 7, 7, 1], [5, 5, 1, 3], 2, 'same', true);
  });

  it("gathers with batch dimensions like the cpu backend (the backend's own GatherV2 gets them wrong)", async () => {
    const cases: { shape: number[]; perBatch: number; axis: number; batchDims: number }[] = [
      { shape: [16, 16, 16, 1], perBatch: 12, axis: 1, batchDims: 1 },
      { shape: [16, 12, 16, 3], perBatch: 12, axis: 2, batchDims: 1 },
      { shape: [3, 5], perBatch: 4, axis: 1, batchDims: 1 },
      { shape: [6, 4, 2], perBatch: 5, axis: 0, batchDims: 0 },
    ];
    for (const { shape, perBatch, axis, batchDims } of cases) {
      const rows = batchDims === 0 ? 1 : shape[0];
      const idx = Int32Array.from({ length: rows * perBatch }, (_, i) => (i * 7) % shape[axis]);
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const x = tf.tensor(values(size(shape), 4), shape);
          const indices =
            batchDims === 0 ? tf.tensor1d(idx, 'int32') : tf.tensor2d(idx, [rows, perBatch], 'int32');
          const y = tf.gather(x, indices, axis, batchDims);
          return { shape: y.shape, data: Array.from(y.dataSync()) };
        });
      };
      const cpu = await run('cpu');
      const wasm = await run('wasm');
      assert.deepEqual(wasm, cpu, `gather ${shape.join('×')} axis ${axis} batchDims ${batchDims}`);
    }
    const x = tf.zeros([2, 3]);
    const bad = tf.tensor2d([[0], [3]], [2, 1], 'int32');
    assert.throws(() => tf.gather(x, bad, 1, 1), /GatherV2: the index value 3 is not in \[0, 2\]/);
    tf.dispose([x, bad]);
  });

  it('rejects what the kernels do not support with errors that name it', () => {
    const x = tf.zeros([1, 6, 6, 2]);
    const dy = tf.zeros([1, 6, 6, 2]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            'DepthwiseConv2dNativeBackpropFilter',
            { x, dy },
            { strides: 1, dilations: 2, pad: 'same', filterShape: [3, 3, 2, 1] },
          ),
      /DepthwiseConv2dNativeBackpropFilter on the wasm backend supports dilation 1 only/,
    );
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] },
          ),
      /Conv2DBackpropFilter on the wasm backend supports dataFormat 'NHWC' only/,
    );
    tf.dispose([x, dy]);
  });

  it('trains the real Pretrainer (resnet-mini, 28×28×1, batch 16): finite, falling loss, no leaked tensors', async () => {
    const shape = { height: 28, width: 28, channels: 1 } as const;
    const batch = 16;
    const p = createPretrainer(
      pretrainerOptions(shape, 10, {
        seed: 1,
        model: { encoder: 'resnet-mini' },
        pretrain: { batchSize: batch, epochs: 10, warmupEpochs: 0 },
      }),
    );
    try {
      const kernel = p.namedVariables().find((v) => v.name.endsWith('stem_conv/kernel'));
      assert.ok(kernel, 'the stem convolution has a kernel variable');
      const before = kernel.variable.dataSync().slice();
      const views = syntheticViews(0, batch, shape);
      const losses: number[] = [];
      let tensors = 0;
      for (let s = 0; s < 5; s++) {
        const m = await p.step(views.view1, views.view2, views.count);
        assert.ok(Number.isFinite(m.loss), `step ${m.step}: loss ${m.loss}`);
        losses.push(m.loss);
        if (s === 0)
          tensors = tf.memory().numTensors; // optimiser slots exist after the first step
        else assert.equal(tf.memory().numTensors, tensors, `step ${m.step} leaves no tensors behind`);
      }
      assert.ok(
        losses[4] < losses[0] - 0.05,
        `the loss falls on a repeated batch: ${losses.map((l) => l.toFixed(4)).join(' → ')}`,
      );
      const after = kernel.variable.dataSync();
      assert.ok(after.every(Number.isFinite), 'weights stay finite');
      assert.ok(
        after.some((v, i) => v !== before[i]),
        'the stem convolution was updated (its filter gradient flowed)',
      );
    } finally {
      p.dispose();
    }
  });

  it('fine-tunes an encoder with a classifier (the supervised step of the pipeline)', async () => {
    const shape = { height: 12, width: 12, channels: 1 } as const;
    // Four classes: one bright quadrant each, on a noisy background.
    const images = (count: number, seed: number): LabelledImages => {
      const noise = values(count * 144, seed);
      const pixels = new Uint8Array(count * 144);
      const labels = Array.from({ length: count }, (_, i) => i % 4);
      for (let i = 0; i < count; i++) {
        for (let y = 0; y < 12; y++) {
          for (let x = 0; x < 12; x++) {
            const quadrant = (y < 6 ? 0 : 2) + (x < 6 ? 0 : 1);
            pixels[i * 144 + y * 12 + x] =
              (quadrant === labels[i] ? 180 : 40) + Math.round(60 * noise[i * 144 + y * 12 + x]);
          }
        }
      }
      return { pixels, labels, count, shape };
    };
    const encoder = buildEncoder({
      encoder: 'resnet-mini',
      widthMultiplier: 0.5,
      stem: 'cifar',
      inputShape: [12, 12, 1],
      seed: 1,
    });
    try {
      const train = images(64, 4);
      const r = await fineTune({
        encoder,
        config: fineTuneSchema.parse({ epochs: 4, batchSize: 16, learningRate: 0.4, fromHeadLayer: 0 }),
        train,
        trainIndices: Array.from({ length: 64 }, (_, i) => i),
        test: images(32, 5),
        seed: 0,
      });
      assert.ok(r.lossCurve.every(Number.isFinite), `loss curve ${r.lossCurve}`);
      assert.ok(
        r.lossCurve[3] < r.lossCurve[0],
        `the loss falls: ${r.lossCurve.map((l) => l.toFixed(3)).join(' → ')}`,
      );
      assert.ok(r.top1 >= 0 && r.top1 <= 1);
    } finally {
      encoder.dispose();
    }
  });
});

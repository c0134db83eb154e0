import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../simclr/backend';
import { createOptimizer, isExcludedFromAdaptation, type OptimizerOptions } from '../../simclr/optimizers';
import { effectiveLearningRate, learningRateAt } from '../../simclr/schedule';

const norm = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));

/** One LARS / SGD step by hand (see simclr/optimizers.ts), on plain arrays; returns new w and v. */
function momentumStep(
  kind: 'lars' | 'sgd',
  w: number[],
  g0: number[],
  v: number[],
  lr: number,
  o: OptimizerOptions,
  excluded: boolean,
): { w: number[]; v: number[] } {
  const g = excluded ? g0 : g0.map((gi, i) => gi + o.weightDecay * w[i]);
  let ratio = 1;
  if (kind === 'lars' && !excluded) {
    const wn = norm(w);
    const gn = norm(g);
    ratio = wn > 0 && gn > 0 ? (o.trustCoefficient * wn) / gn : 1;
  }
  const nextV = v.map((vi, i) => o.momentum * vi + lr * ratio * g[i]);
  const delta = o.nesterov ? nextV.map((nv, i) => o.momentum * nv + lr * ratio * g[i]) : nextV;
  return { w: w.map((wi, i) => wi - delta[i]), v: nextV };
}

function adamStep(
  w: number[],
  g0: number[],
  m: number[],
  v: number[],
  t: number,
  lr: number,
  o: OptimizerOptions,
  excluded: boolean,
) {
  const g = excluded ? g0 : g0.map((gi, i) => gi + o.weightDecay * w[i]);
  const nm = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
  const nv = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] * g[i]);
  const alpha = (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
  return { w: w.map((wi, i) => wi - (alpha * nm[i]) / (Math.sqrt(nv[i]) + 1e-7)), m: nm, v: nv };
}

function assertClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

// A kernel (decayed and adapted), a batch-norm γ and a bias (neither), with two steps of gradients.
const W0 = { kernel: [0.5, -1.0, 2.0, 0.25], gamma: [1.0, 0.8], bias: [0.1, -0.2] };
const GRADS = [
  { kernel: [0.1, 0.2, -0.3, 0.05], gamma: [0.02, -0.04], bias: [0.5, 0.25] },
  { kernel: [-0.2, 0.1, 0.4, 0.0], gamma: [0.01, 0.03], bias: [-0.1, 0.2] },
];
const LRS = [0.8, 0.5];
const NAMES = {
  kernel: 'encoder_s1_b0_conv1/kernel',
  gamma: 'encoder_s1_b0_bn1/gamma',
  bias: 'head_dense0/bias',
};
type Key = keyof typeof W0;
const KEYS: Key[] = ['kernel', 'gamma', 'bias'];

function runTf(name: 'lars' | 'sgd' | 'adam', o: OptimizerOptions) {
  const vars = KEYS.map((k) => tf.variable(tf.tensor1d(W0[k]), true));
  const opt = createOptimizer(name, o);
  for (let s = 0; s < GRADS.length; s++) {
    const grads = KEYS.map((k) => tf.tensor1d(GRADS[s][k]));
    opt.applyGradients(
      vars,
      grads,
      LRS[s],
      KEYS.map((k) => NAMES[k]),
    );
    tf.dispose(grads);
  }
  const result = Object.fromEntries(KEYS.map((k, i) => [k, Array.from(vars[i].dataSync())])) as Record<
    Key,
    number[]
  >;
  opt.dispose();
  tf.dispose(vars);
  return result;
}

function runByHand(name: 'lars' | 'sgd' | 'adam', o: OptimizerOptions) {
  const out = {} as Record<Key, number[]>;
  for (const k of KEYS) {
    const excluded = k !== 'kernel';
    let w = W0[k];
    let v = w.map(() => 0);
    let m = w.map(() => 0);
    for (let s = 0; s < GRADS.length; s++) {
      if (name === 'adam') {
        ({ w, m, v } = adamStep(w, GRADS[s][k], m, v, s + 1, LRS[s], o, excluded));
      } else {
        ({ w, v } = momentumStep(name, w, GRADS[s][k], v, LRS[s], o, excluded));
      }
    }
    out[k] = w;
  }
  return out;
}

before(async () => {
  await initBackend('tensorflow');
});

describe('isExcludedFromAdaptation', () => {
  it('excludes batch-norm parameters and biases, by name, and nothing else', () => {
    for (const name of [
      'encoder_stem_bn/gamma',
      'encoder_stem_bn/beta',
      'head_bn1/gamma',
      'head_dense0/bias',
      'dense_3/bias_1',
      'batch_normalization_2/gamma',
      'x_bn/moving_mean',
    ]) {
      assert.equal(isExcludedFromAdaptation(name), true, name);
    }
    for (const name of [
      'encoder_stem_conv/kernel',
      'head_dense0/kernel',
      'encoder_s2_b0_proj_conv/kernel_1',
      'classifier/kernel',
    ]) {
      assert.equal(isExcludedFromAdaptation(name), false, name);
    }
  });
});

describe('optimizers against updates computed by hand', () => {
  // A large weight decay so that its presence or absence shows in the numbers.
  const base: OptimizerOptions = { momentum: 0.9, weightDecay: 0.1, trustCoefficient: 0.001 };

  for (const name of ['lars', 'sgd', 'adam'] as const) {
    for (const nesterov of name === 'adam' ? [false] : [false, true]) {
      it(`${name}${nesterov ? ' (Nesterov)' : ''}: two steps, batch norm and bias skip weight decay${name === 'lars' ? ' and adaptation' : ''}`, () => {
        const o = { ...base, nesterov };
        const got = runTf(name, o);
        const expected = runByHand(name, o);
        for (const k of KEYS) assertClose(got[k], expected[k], 1e-5, `${name} ${k}`);
      });
    }
  }

  it('LARS scales the kernel step by η‖w‖/‖g + λw‖ (visible against plain SGD)', () => {
    const lars = runTf('lars', base);
    const sgd = runTf('sgd', base);
    // γ and bias are not adapted, so LARS and SGD agree on them; the kernel moves ~1000× less.
    assertClose(lars.gamma, sgd.gamma, 1e-6, 'gamma');
    assertClose(lars.bias, sgd.bias, 1e-6, 'bias');
    const larsMove = norm(lars.kernel.map((v, i) => v - W0.kernel[i]));
    const sgdMove = norm(sgd.kernel.map((v, i) => v - W0.kernel[i]));
    assert.ok(larsMove < sgdMove / 50, `${larsMove} vs ${sgdMove}`);
  });

  it('LARS uses a trust ratio of 1 for an all-zero weight', () => {
    const w = tf.variable(tf.zeros([3]), true, 'zero_init/kernel');
    const opt = createOptimizer('lars', { ...base, weightDecay: 0 });
    const g = tf.tensor1d([1, 2, 3]);
    opt.applyGradients([w], [g], 0.1);
    assertClose(w.dataSync(), [-0.1, -0.2, -0.3], 1e-6, 'w');
    tf.dispose([w, g]);
    opt.dispose();
  });
});

describe('optimizer state', () => {
  it('getSlots / setSlots carry momentum to a fresh optimiser, which then continues identically', () => {
    for (const name of ['lars', 'adam'] as const) {
      const o = { momentum: 0.9, weightDecay: 1e-4, trustCoefficient: 0.001 };
      const make = () => [
        tf.variable(tf.tensor1d([1, 2, 3]), true),
        tf.variable(tf.tensor1d([0.5, 0.5]), true),
      ];
      const names = ['a/kernel', 'b/gamma'];
      const g = [tf.tensor1d([0.3, -0.1, 0.2]), tf.tensor1d([0.05, 0.1])];
      const varsA = make();
      const a = createOptimizer(name, o);
      a.applyGradients(varsA, g, 0.5, names);
      const saved = a.getSlots().map(({ name: n, tensor }) => ({ name: n, tensor: tensor.clone() }));
      assert.ok(saved.some((s) => s.name.startsWith('a/kernel/')));
      const varsB = varsA.map((v) => tf.variable(v.clone(), true));
      const b = createOptimizer(name, o);
      b.setSlots(saved);
      tf.dispose(saved.map((s) => s.tensor));
      a.applyGradients(varsA, g, 0.5, names);
      b.applyGradients(varsB, g, 0.5, names);
      varsA.forEach((v, i) =>
        assertClose(varsB[i].dataSync(), Array.from(v.dataSync()), 1e-7, `${name} var ${i}`),
      );
      a.dispose();
      b.dispose();
      tf.dispose([...varsA, ...varsB, ...g]);
    }
  });

  it('an update leaves no tensors behind, and dispose frees the slots', () => {
    for (const name of ['lars', 'sgd', 'adam'] as const) {
      const vars = [
        tf.variable(tf.randomNormal([4, 4]), true, `${name}_leak/kernel`),
        tf.variable(tf.ones([4]), true, `${name}_leak/bias`),
      ];
      const grads = [tf.randomNormal([4, 4]), tf.randomNormal([4])];
      const start = tf.memory().numTensors;
      const opt = createOptimizer(name, {
        momentum: 0.9,
        weightDecay: 1e-6,
        trustCoefficient: 0.001,
        nesterov: true,
      });
      opt.applyGradients(vars, grads, 0.1);
      const afterFirst = tf.memory().numTensors;
      assert.equal(afterFirst - start, opt.getSlots().length, `${name}: only the slots are new`);
      opt.applyGradients(vars, grads, 0.1);
      assert.equal(
        tf.memory().numTensors,
        afterFirst,
        `${name}: the second step allocates nothing that stays`,
      );
      opt.dispose();
      assert.equal(tf.memory().numTensors, start, `${name}: dispose frees the slots`);
      tf.dispose([...vars, ...grads]);
    }
  });

  it('rejects mismatched gradients with a message naming the variable', () => {
    const v = tf.variable(tf.zeros([2]), true, 'shape_check/kernel');
    const opt = createOptimizer('sgd', { momentum: 0.9, weightDecay: 0, trustCoefficient: 0.001 });
    const g = tf.zeros([3]);
    assert.throws(() => opt.applyGradients([v], [g], 0.1), /shape_check\/kernel/);
    assert.throws(() => opt.applyGradients([v], [], 0.1), /1 variables but 0 gradients/);
    tf.dispose([v, g]);
    opt.dispose();
  });
});

describe('learning-rate schedule', () => {
  it('scales the base rate linearly, by the square root, or not at all', () => {
    assert.equal(effectiveLearningRate(0.3, 4096, 'linear'), 4.8);
    assert.equal(effectiveLearningRate(0.075, 4096, 'sqrt'), 4.8);
    assert.equal(effectiveLearningRate(0.3, 512, 'none'), 0.3);
    assert.throws(() => effectiveLearningRate(0.3, 0, 'linear'), /batch size/);
  });

  it('warms up linearly from 0, peaks at the end of warm-up, is half-way down mid-cosine and 0 at the end', () => {
    const s = { peak: 2, warmupSteps: 10, totalSteps: 110 };
    assert.equal(learningRateAt(0, s), 0);
    assert.equal(learningRateAt(5, s), 1);
    assert.equal(learningRateAt(10, s), 2);
    assert.ok(Math.abs(learningRateAt(60, s) - 1) < 1e-12);
    // A quarter into the decay: ½·(1 + cos(π/4)).
    assert.ok(Math.abs(learningRateAt(35, s) - 2 * 0.5 * (1 + Math.SQRT1_2)) < 1e-12);
    assert.ok(Math.abs(learningRateAt(109, s) - 2 * 0.5 * (1 + Math.cos(Math.PI * 0.99))) < 1e-12);
    assert.equal(learningRateAt(110, s), 0);
    assert.equal(learningRateAt(500, s), 0, 'no restarts');
    assert.equal(
      learningRateAt(0, { peak: 1, warmupSteps: 0, totalSteps: 4 }),
      1,
      'no warm-up starts at the peak',
    );
  });
});

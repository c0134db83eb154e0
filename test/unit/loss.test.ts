import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../../simclr/backend';
import { contrastiveAccuracy, ntXentLoss } from '../../simclr/loss';

/**
 * NT-Xent written out by hand in float64, straight from [SimCLR] Eq. (1): for each of the 2N anchors,
 * −log(exp(s_pos/τ) / Σ_{k≠i} exp(s_ik/τ)) with cosine similarities s, averaged over the anchors.
 */
function referenceLoss(z1: number[][], z2: number[][], tau: number): number {
  const z = [...z1, ...z2].map((row) => {
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    return row.map((v) => v / norm);
  });
  const n = z1.length;
  const cos = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);
  let total = 0;
  for (let i = 0; i < 2 * n; i++) {
    const pos = (i + n) % (2 * n);
    const logits: number[] = [];
    for (let k = 0; k < 2 * n; k++) if (k !== i) logits.push(cos(z[i], z[k]) / tau);
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
    total += lse - cos(z[i], z[pos]) / tau;
  }
  return total / (2 * n);
}

function random(rows: number, cols: number, seed: number, scale = 1): number[][] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  };
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => next() * scale));
}

function lossOf(z1: number[][], z2: number[][], tau: number): number {
  return tf.tidy(() => ntXentLoss(tf.tensor2d(z1), tf.tensor2d(z2), tau).dataSync()[0]);
}

before(async () => {
  await initBackend('tensorflow');
});

describe('ntXentLoss', () => {
  it('equals the loss computed by hand on a tiny batch', () => {
    // N = 2, d = 2: views at angles 0° and 90° (image 1) and 45° and 180° (image 2).
    const z1 = [
      [1, 0],
      [Math.SQRT1_2, Math.SQRT1_2],
    ];
    const z2 = [
      [0, 1],
      [-1, 0],
    ];
    // Anchor 0 (1,0): positive (0,1) cos 0; others cos(45°)=0.7071, cos(180°)=−1.
    // With τ = 1: ℓ0 = log(e^0.7071 + e^0 + e^−1) − 0.
    const c = Math.SQRT1_2;
    const tau = 1;
    const l0 = Math.log(Math.exp(c) + Math.exp(0) + Math.exp(-1)) - 0;
    // Anchor 1 (45°): positive (−1,0) cos −0.7071; others (1,0) 0.7071, (0,1) 0.7071.
    const l1 = Math.log(Math.exp(c) + Math.exp(-c) + Math.exp(c)) + c;
    // Anchor 2 (0,1): positive (1,0) cos 0; others (45°) 0.7071, (−1,0) 0.
    const l2 = Math.log(Math.exp(0) + Math.exp(c) + Math.exp(0)) - 0;
    // Anchor 3 (−1,0): positive (45°) cos −0.7071; others (1,0) −1, (0,1) 0.
    const l3 = Math.log(Math.exp(-1) + Math.exp(-c) + Math.exp(0)) + c;
    const byHand = (l0 + l1 + l2 + l3) / 4;
    assert.ok(
      Math.abs(referenceLoss(z1, z2, tau) - byHand) < 1e-12,
      'the JS reference agrees with the hand computation',
    );
    assert.ok(Math.abs(lossOf(z1, z2, tau) - byHand) < 1e-5, `${lossOf(z1, z2, tau)} vs ${byHand}`);
  });

  it('matches the float64 reference on random batches at τ = 0.5 and 0.1, and ignores the scale of z', () => {
    const z1 = random(6, 5, 1);
    const z2 = random(6, 5, 2);
    for (const tau of [0.5, 0.1]) {
      const expected = referenceLoss(z1, z2, tau);
      assert.ok(
        Math.abs(lossOf(z1, z2, tau) - expected) < 1e-4 * Math.max(1, expected),
        `τ=${tau}: ${lossOf(z1, z2, tau)} vs ${expected}`,
      );
    }
    const scaled = z1.map((r) => r.map((v) => v * 37));
    assert.ok(Math.abs(lossOf(scaled, z2, 0.5) - lossOf(z1, z2, 0.5)) < 1e-5);
  });

  it('is log(2N − 1) when all views coincide and near 0 when positives align and negatives are opposite', () => {
    const same = [
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ];
    assert.ok(Math.abs(lossOf(same, same, 0.5) - Math.log(5)) < 1e-5);
    const z = [
      [1, 0],
      [-1, 0],
    ];
    // At τ = 0.05 the negative (cos −1) contributes e^−40 relative to the positive e^20.
    assert.ok(lossOf(z, z, 0.05) < 1e-6);
  });

  it('has the gradient of central finite differences of the float64 reference', () => {
    const z1 = random(3, 4, 11);
    const z2 = random(3, 4, 12);
    const tau = 0.2;
    const [g1, g2] = tf.tidy(() => {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        ntXentLoss(a as tf.Tensor2D, b as tf.Tensor2D, tau),
      )([tf.tensor2d(z1), tf.tensor2d(z2)]);
      return grads.map((g) => g.arraySync() as number[][]);
    });
    const h = 1e-6;
    for (const [which, z, g] of [
      [0, z1, g1],
      [1, z2, g2],
    ] as const) {
      for (let r = 0; r < z.length; r++) {
        for (let c = 0; c < z[0].length; c++) {
          const plus = z.map((row) => row.slice());
          const minus = z.map((row) => row.slice());
          plus[r][c] += h;
          minus[r][c] -= h;
          const numeric =
            which === 0
              ? (referenceLoss(plus, z2, tau) - referenceLoss(minus, z2, tau)) / (2 * h)
              : (referenceLoss(z1, plus, tau) - referenceLoss(z1, minus, tau)) / (2 * h);
          assert.ok(
            Math.abs(g[r][c] - numeric) < 2e-4,
            `z${which + 1}[${r}][${c}]: ${g[r][c]} vs ${numeric}`,
          );
        }
      }
    }
  });

  it('stays finite and exact at τ = 0.05 with large, aligned logits', () => {
    const z1 = random(8, 16, 21, 1e4);
    const z2 = z1.map((row) => row.map((v) => v * 1.5 + 1));
    const expected = referenceLoss(z1, z2, 0.05);
    const got = lossOf(z1, z2, 0.05);
    assert.ok(Number.isFinite(got));
    assert.ok(Math.abs(got - expected) < 1e-3 * Math.max(1, expected), `${got} vs ${expected}`);
    const grad = tf.tidy(() =>
      tf
        .grad((a: tf.Tensor) => ntXentLoss(a as tf.Tensor2D, tf.tensor2d(z2), 0.05))(tf.tensor2d(z1))
        .dataSync(),
    );
    assert.ok(grad.every(Number.isFinite));
  });

  it('leaves no tensors behind and rejects mismatched inputs', () => {
    const a = tf.randomNormal([4, 3]) as tf.Tensor2D;
    const b = tf.randomNormal([4, 3]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const loss = ntXentLoss(a, b, 0.5);
    const acc = contrastiveAccuracy(a, b);
    assert.equal(tf.memory().numTensors, before + 2);
    tf.dispose([loss, acc]);
    assert.throws(() => ntXentLoss(a, tf.zeros([3, 3]) as tf.Tensor2D, 0.5), /same shape/);
    assert.throws(() => ntXentLoss(a, b, 0), /temperature/);
    assert.throws(() => ntXentLoss(a.slice([0, 0], [1, 3]), b.slice([0, 0], [1, 3]), 0.5), /at least 2/);
    tf.dispose([a, b]);
  });
});

describe('contrastiveAccuracy', () => {
  it('is 1 when each view is closest to its positive and 0 when it is closest to another image', () => {
    const z1 = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const near = z1.map((r) => r.map((v) => v + 0.1));
    const shifted = [z1[1], z1[2], z1[0]];
    const acc = (a: number[][], b: number[][]) =>
      tf.tidy(() => contrastiveAccuracy(tf.tensor2d(a), tf.tensor2d(b)).dataSync()[0]);
    assert.equal(acc(z1, near), 1);
    assert.equal(acc(z1, shifted), 0);
    // Half right: the first two images' views are swapped with each other in z2.
    const z4 = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    assert.equal(acc(z4, [z4[1], z4[0], z4[2], z4[3]]), 0.5);
  });
});

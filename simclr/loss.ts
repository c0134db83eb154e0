/**
 * NT-Xent, the normalised temperature-scaled cross-entropy loss of [SimCLR] Sec. 2.1, Eq. (1).
 *
 * For a batch of N images seen as two views, the 2N projections z are L2-normalised and every anchor i
 * is classified against the other 2N − 1 views, its positive j(i) being the other view of the same image:
 *
 *     sim(u, v) = uᵀv / (‖u‖ ‖v‖)
 *     ℓ(i, j)   = −log  exp(sim(z_i, z_j) / τ) / Σ_{k ≠ i} exp(sim(z_i, z_k) / τ)
 *     L         = 1/(2N) Σ_{k=1..N} [ℓ(2k−1, 2k) + ℓ(2k, 2k−1)]
 *
 * Self-similarity is masked by subtracting a large constant before the softmax, and the log-softmax is
 * computed as logits − logsumexp(logits), which stays finite at small temperatures (τ = 0.05 → logits
 * up to 20, exp(20) would be fine but exp(1/τ·sim) at τ = 0.01 would not).
 *
 * @example
 *   const loss = ntXentLoss(g(f(view1)), g(f(view2)), 0.5); // z1, z2: [N, d], not normalised
 */
import { tf } from './backend';

/** Added to masked logits: exp(−1e9) underflows to exactly 0 in float32. */
const LARGE_NUM = 1e9;

function l2Normalize(z: tf.Tensor2D): tf.Tensor2D {
  // z / max(‖z‖, 1e-6) as tf.math.l2_normalize, so an all-zero row gives zeros rather than NaN.
  const sq = tf.sum(tf.square(z), 1, true);
  return tf.mul(z, tf.rsqrt(tf.maximum(sq, 1e-12))) as tf.Tensor2D;
}

function checkPair(z1: tf.Tensor2D, z2: tf.Tensor2D, fn: string): void {
  if (z1.rank !== 2 || z2.rank !== 2 || z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) {
    throw new Error(
      `${fn}: z1 and z2 must both be [N, d] with the same shape (got [${z1.shape}] and [${z2.shape}])`,
    );
  }
  if (z1.shape[0] < 2)
    throw new Error(`${fn}: needs a batch of at least 2 images to have negatives (got ${z1.shape[0]})`);
}

/**
 * Cosine similarities of the 2N views with each other, divided by τ, self-similarity masked:
 * [2N, 2N] logits whose row i has its positive at column (i + N) mod 2N.
 */
function maskedLogits(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature: number): tf.Tensor2D {
  const n = z1.shape[0];
  const z = l2Normalize(tf.concat([z1, z2], 0));
  const sim = tf.matMul(z, z, false, true);
  const mask = tf.mul(tf.eye(2 * n), LARGE_NUM);
  return tf.sub(tf.div(sim, temperature), mask) as tf.Tensor2D;
}

/** One-hot [2N, 2N] of the positives: row i has a 1 at (i + N) mod 2N. */
function positiveMask(n: number): tf.Tensor2D {
  const cols = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
  return tf.oneHot(cols, 2 * n) as tf.Tensor2D;
}

/** The paper's L (see the module comment): mean NT-Xent over the 2N anchors. */
export function ntXentLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature: number): tf.Scalar {
  checkPair(z1, z2, 'ntXentLoss');
  if (!(temperature > 0)) throw new Error(`ntXentLoss: temperature must be > 0 (got ${temperature})`);
  return tf.tidy(() => {
    const n = z1.shape[0];
    const logits = maskedLogits(z1, z2, temperature);
    const positive = tf.sum(tf.mul(logits, positiveMask(n)), 1);
    const perAnchor = tf.sub(tf.logSumExp(logits, 1), positive);
    return tf.mean(perAnchor) as tf.Scalar;
  });
}

/**
 * Contrastive accuracy: the fraction of the 2N anchors whose most similar other view is their positive
 * (the reference's "contrast_acc" metric). Returned as a tensor so monitoring does not force a sync.
 */
export function contrastiveAccuracy(z1: tf.Tensor2D, z2: tf.Tensor2D): tf.Scalar {
  checkPair(z1, z2, 'contrastiveAccuracy');
  return tf.tidy(() => {
    const n = z1.shape[0];
    const predicted = tf.argMax(maskedLogits(z1, z2, 1), 1);
    const expected = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
    return tf.mean(tf.cast(tf.equal(predicted, expected), 'float32')) as tf.Scalar;
  });
}

/**
 * Top-k accuracy of class scores (logits, kNN votes): the fraction of rows whose true class is among
 * the k highest scores ([SimCLR] reports top-1 and top-5).
 *
 * Ties count against the prediction: the label is in the top k only when at most k − 1 other classes
 * score at least as high as it. So a constant row (an all-zero classifier, a class without kNN votes
 * tied with others) is never counted as right by luck of ordering, and the result does not depend on
 * how a sort breaks ties. A NaN score for the true class is wrong. k above the number of classes is
 * clamped to it (every row is then right).
 *
 * @example
 *   topKAccuracy(tf.tensor2d([[0.1, 0.7, 0.2]]), [2], 1); // 0
 *   topKAccuracy(tf.tensor2d([[0.1, 0.7, 0.2]]), [2], 2); // 1
 */
import { tf } from '../backend';

/** Fraction in [0, 1] of rows of `scores` [N, C] whose label (int in [0, C)) is in the top k. */
export function topKAccuracy(
  scores: tf.Tensor2D,
  labels: ArrayLike<number> | tf.Tensor1D,
  k: number,
): number {
  const n = scores.shape[0];
  if (n === 0) throw new Error('topKAccuracy: no rows to score');
  return countInTopK(scores, labels, k) / n;
}

/** Number of rows of `scores` [N, C] whose label is in the top k (see topKAccuracy). */
export function countInTopK(scores: tf.Tensor2D, labels: ArrayLike<number> | tf.Tensor1D, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`topKAccuracy: k must be a positive integer (got ${k})`);
  if (scores.rank !== 2)
    throw new Error(`topKAccuracy: scores must be [N, C] (got shape [${scores.shape.join(', ')}])`);
  const [n, c] = scores.shape;
  const numLabels = labels instanceof tf.Tensor ? labels.size : labels.length;
  if (numLabels !== n) throw new Error(`topKAccuracy: ${numLabels} labels for ${n} rows of scores`);
  if (labels instanceof tf.Tensor && labels.dtype !== 'int32')
    throw new Error(`topKAccuracy: label tensor must be int32 (got ${labels.dtype})`);
  if (!(labels instanceof tf.Tensor)) {
    for (let i = 0; i < n; i++) {
      const y = labels[i];
      if (!Number.isInteger(y) || y < 0 || y >= c)
        throw new Error(`topKAccuracy: label ${y} of row ${i} is not a class index in [0, ${c})`);
    }
  }
  const kk = Math.min(k, c);
  return tf.tidy(() => {
    const y = (labels instanceof tf.Tensor ? labels : tf.tensor1d(Int32Array.from(labels), 'int32')).reshape([
      n,
      1,
    ]);
    const labelScore = tf.gather(scores.toFloat(), y, 1, 1); // [N, 1]
    const atLeastAsHigh = tf.sum(tf.cast(tf.greaterEqual(scores, labelScore), 'int32'), 1); // counts the label itself
    const inTopK = tf.logicalAnd(
      tf.lessEqual(atLeastAsHigh, kk),
      tf.logicalNot(tf.isNaN(labelScore.reshape([n]))),
    );
    return tf.sum(tf.cast(inTopK, 'int32')).dataSync()[0];
  });
}

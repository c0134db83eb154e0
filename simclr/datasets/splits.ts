/**
 * Deterministic subsets of a dataset, as sorted index lists: the class-balanced label fractions of
 * semi-supervised fine-tuning ([SimCLR] Sec. 6 uses 1 % and 10 % of ImageNet's labels, balanced per
 * class), the train/test split of a folder source that has no test split, and a class-balanced cap
 * for quick runs (dataset.maxTrainImages / maxTestImages), and the seeded class-balanced sample of test
 * images the report draws its embedding maps from.
 *
 * Randomness comes from simclr/rng.ts keyed by (seed, class): each class gets its own fixed
 * permutation, and a subset takes a prefix of it, so subsets of one seed nest (the 1 % images are
 * among the 10 % images) and a class's choice does not depend on the other classes.
 *
 * @example
 *   const tenPercent = labelFractionSubset(train.labels, 0.1, config.seed); // Int32Array of indices
 */
import { Rng, RNG_STREAMS } from '../rng';

/** Indices of each label value, in ascending index order, keyed by label (ascending). */
function indicesByClass(labels: ArrayLike<number>, what: string): Map<number, number[]> {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0)
      throw new Error(`${what}: image ${i} has label ${c}; class-balanced subsets need labels >= 0`);
    let list = byClass.get(c);
    if (!list) byClass.set(c, (list = []));
    list.push(i);
  }
  return new Map([...byClass.entries()].sort((a, b) => a[0] - b[0]));
}

function permutation(members: number[], seed: number, cls: number, stream: number): number[] {
  return new Rng({ seed, epoch: 0, index: cls, view: stream }).shuffle(members.slice());
}

function sorted(indices: number[]): Int32Array {
  return Int32Array.from(indices).sort();
}

/**
 * A class-balanced subset holding `fraction` of the labels: for each class c with n_c images,
 * max(1, round(fraction × n_c)) of them, chosen uniformly from the class's seeded permutation.
 */
export function labelFractionSubset(labels: ArrayLike<number>, fraction: number, seed: number): Int32Array {
  if (!(fraction > 0 && fraction <= 1))
    throw new Error(`labelFractionSubset: fraction must be in (0, 1] (got ${fraction})`);
  const out: number[] = [];
  for (const [cls, members] of indicesByClass(labels, 'labelFractionSubset')) {
    const take = Math.min(members.length, Math.max(1, Math.round(fraction * members.length)));
    // Loops, not push(...): a class can hold more images than a call has room for arguments.
    for (const i of permutation(members, seed, cls, RNG_STREAMS.labelFraction).slice(0, take)) out.push(i);
  }
  return sorted(out);
}

/**
 * Splits `count` images into train and test, `testFraction` of them in test. With labels the split is
 * stratified: each class with n_c ≥ 2 images puts round(testFraction × n_c), clamped to [1, n_c − 1],
 * into test (a single-image class stays in train). Without labels (an unlabelled folder) the same
 * rule applies to the whole set.
 */
export function trainTestSplit(
  count: number,
  testFraction: number,
  seed: number,
  labels?: ArrayLike<number>,
): { train: Int32Array; test: Int32Array } {
  if (!(testFraction > 0 && testFraction < 1))
    throw new Error(`trainTestSplit: testFraction must be in (0, 1) (got ${testFraction})`);
  if (labels && labels.length !== count)
    throw new Error(`trainTestSplit: ${labels.length} labels for ${count} images`);
  const groups = labels
    ? indicesByClass(labels, 'trainTestSplit')
    : new Map([[0, Array.from({ length: count }, (_, i) => i)]]);
  const train: number[] = [];
  const test: number[] = [];
  for (const [cls, members] of groups) {
    const n = members.length;
    const k = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(testFraction * n)));
    const perm = permutation(members, seed, cls, RNG_STREAMS.trainTestSplit);
    test.push(...perm.slice(0, k));
    for (const i of perm.slice(k)) train.push(i);
  }
  return { train: sorted(train), test: sorted(test) };
}

/**
 * At most `max` indices, balanced over classes: classes take turns (ascending label) giving their
 * next image in index order, so every class gets ⌊max / C⌋ or one more, unless it runs out. Without
 * labels: the first `max` indices. Deterministic, no randomness (a "class-balanced prefix").
 */
export function classBalancedLimit(count: number, max: number, labels?: ArrayLike<number>): Int32Array {
  if (!Number.isInteger(max) || max < 1)
    throw new Error(`classBalancedLimit: max must be a positive integer (got ${max})`);
  if (!labels) return Int32Array.from({ length: Math.min(count, max) }, (_, i) => i);
  if (labels.length !== count)
    throw new Error(`classBalancedLimit: ${labels.length} labels for ${count} images`);
  return sorted(roundRobin([...indicesByClass(labels, 'classBalancedLimit').values()], max));
}

/**
 * A seeded class-balanced sample of at most `max` indices: classes take turns as in classBalancedLimit,
 * each giving the next image of its own seeded permutation. So every class gets ⌊max / C⌋ or one more
 * (unless it runs out), the sample is spread over the whole split rather than its start, and a smaller
 * `max` of the same seed is a subset of a larger one (the neighbour grid's one query per class are
 * points of the embedding map).
 */
export function classBalancedSample(labels: ArrayLike<number>, max: number, seed: number): Int32Array {
  if (!Number.isInteger(max) || max < 1)
    throw new Error(`classBalancedSample: max must be a positive integer (got ${max})`);
  const queues = [...indicesByClass(labels, 'classBalancedSample')].map(([cls, members]) =>
    permutation(members, seed, cls, RNG_STREAMS.representationSample),
  );
  return sorted(roundRobin(queues, max));
}

/** Up to `max` items taken in turns, one from each queue in order, until the queues run out. */
function roundRobin(queues: number[][], max: number): number[] {
  const out: number[] = [];
  for (let round = 0; out.length < max && queues.some((q) => q.length > round); round++) {
    for (const q of queues) {
      if (out.length >= max) break;
      if (round < q.length) out.push(q[round]);
    }
  }
  return out;
}

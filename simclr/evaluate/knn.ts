/**
 * Weighted k-nearest-neighbour monitor (Wu et al. 2018, "Unsupervised Feature Learning via
 * Non-Parametric Instance Discrimination", Sec. 3.4), as the common SimCLR/MoCo monitors use it: cheap
 * enough to run every few pretraining epochs, no training involved.
 *
 * Features are L2-normalised; for a test feature q the k training features with the highest cosine
 * similarity s_i = q·x_i vote for their class with weight exp(s_i / τ); the class scores are the summed
 * votes, scored as top-1 / top-5 (ties count against, see ./accuracy.ts). Defaults k = 200, τ = 0.1
 * (config/defaults.ts, `knn`). k larger than the training set is clamped to its size (`kClamped`).
 *
 * Memory stays bounded: queries go in blocks of `queryBatchSize`, and each block is compared with the
 * training set in chunks of `trainChunkSize`, merging the running top-k with each chunk's top-k, so the
 * largest similarity matrix is queryBatchSize × trainChunkSize whatever the training set's size.
 *
 * The same search without the vote, `nearestNeighbours`, gives the report its grid of query images and
 * their nearest training images.
 *
 * @example
 *   const r = await knnEvaluation(train, test, config.evaluation.knn);
 *   console.log(r.top1, r.k, r.kClamped);
 *   const { indices, similarities } = await nearestNeighbours(train, queries, 8); // [numQueries, 8] each
 */
import { tf } from '../backend';
import type { EvaluationConfig } from '../../config/schema';
import { countInTopK } from './accuracy';
import { checkFeatureSet, countClasses, type FeatureSet, type ProgressCallback } from './features';

export type KnnConfig = EvaluationConfig['knn'];

export interface KnnOptions {
  /** Default: 1 + the largest label in train or test. */
  numClasses?: number;
  /** Test features compared at once; default 256. */
  queryBatchSize?: number;
  /** Training features per similarity matmul; default 8192. */
  trainChunkSize?: number;
  /** Called after each block of queries with the number done and the total. */
  onProgress?: ProgressCallback;
}

export interface KnnResult {
  top1: number;
  top5: number;
  /** The k used: min(requested k, training set size). */
  k: number;
  requestedK: number;
  /** True when the requested k exceeded the training set and was clamped to its size. */
  kClamped: boolean;
  temperature: number;
  numClasses: number;
  numTrain: number;
  numTest: number;
}

/** Scores `test` against `train` with the weighted kNN classifier; no tensor outlives the call. */
export async function knnEvaluation(
  train: FeatureSet,
  test: FeatureSet,
  config: KnnConfig,
  options: KnnOptions = {},
): Promise<KnnResult> {
  const numClasses = countClasses([train, test], options.numClasses);
  const numTest = checkFeatureSet(test, 'test', numClasses);
  if (numTest === 0) throw new Error('knnEvaluation: no test examples');
  if (test.dim !== train.dim)
    throw new Error(`knnEvaluation: train features have dimension ${train.dim}, test features ${test.dim}`);
  let top1 = 0;
  let top5 = 0;
  const info = await forEachVoteBlock(
    train,
    test.features,
    config,
    numClasses,
    options,
    (votes, start, n) => {
      const labels = Int32Array.from({ length: n }, (_, i) => test.labels[start + i]);
      top1 += countInTopK(votes, labels, 1);
      top5 += countInTopK(votes, labels, 5);
    },
  );
  return {
    top1: top1 / numTest,
    top5: top5 / numTest,
    ...info,
    temperature: config.temperature,
    numClasses,
    numTest,
  };
}

/**
 * The class scores of each query row (row-major [numQueries, numClasses]): Σ over its k nearest
 * training features of class c of exp((s_i − s_max) / τ). The shift by the query's best similarity
 * s_max multiplies a row by the positive constant exp(−s_max / τ), which leaves the ranking of classes
 * (all that accuracy depends on) unchanged and keeps a small τ from overflowing float32.
 */
export async function knnVotes(
  train: FeatureSet,
  queries: Float32Array,
  config: KnnConfig,
  options: KnnOptions = {},
): Promise<Float32Array> {
  const numClasses = countClasses([train], options.numClasses);
  if (queries.length % train.dim !== 0)
    throw new Error(`knnVotes: ${queries.length} query values are not rows of dimension ${train.dim}`);
  const out = new Float32Array((queries.length / train.dim) * numClasses);
  await forEachVoteBlock(train, queries, config, numClasses, options, async (votes, start) => {
    out.set((await votes.data()) as Float32Array, start * numClasses);
  });
  return out;
}

type VoteVisitor = (votes: tf.Tensor2D, start: number, count: number) => void | Promise<void>;

async function forEachVoteBlock(
  train: FeatureSet,
  queries: Float32Array,
  config: KnnConfig,
  numClasses: number,
  options: KnnOptions,
  visit: VoteVisitor,
): Promise<{ k: number; requestedK: number; kClamped: boolean; numTrain: number }> {
  const numTrain = checkFeatureSet(train, 'train', numClasses);
  if (numTrain === 0) throw new Error('kNN: no training examples');
  const { k: requestedK, temperature } = config;
  if (!Number.isInteger(requestedK) || requestedK < 1)
    throw new Error(`kNN: evaluation.knn.k must be a positive integer (got ${requestedK})`);
  if (!(temperature > 0)) throw new Error(`kNN: evaluation.knn.temperature must be > 0 (got ${temperature})`);
  const k = Math.min(requestedK, numTrain);
  const numQueries = queries.length / train.dim;
  const trainY = tf.tensor1d(Int32Array.from(train.labels), 'int32');
  try {
    await forEachNeighbourBlock(train, queries, k, options, async (sim, idx, start, n) => {
      const votes = tf.tidy(() => {
        const weights = tf.exp(tf.div(tf.sub(sim, sim.slice([0, 0], [n, 1])), temperature)); // [n, k]
        const neighbourClasses = tf.oneHot(tf.gather(trainY, idx), numClasses); // [n, k, C]
        return tf.sum(tf.mul(neighbourClasses, tf.expandDims(weights, 2)), 1) as tf.Tensor2D;
      });
      try {
        await visit(votes, start, n);
      } finally {
        votes.dispose();
      }
      options.onProgress?.(start + n, numQueries);
    });
  } finally {
    trainY.dispose();
  }
  return { k, requestedK, kClamped: k < requestedK, numTrain };
}

/**
 * Visits the queries in blocks of `queryBatchSize` with the similarities [n, k] (descending) and
 * training indices [n, k] of each block's k nearest training features by cosine similarity; both are
 * released after the visit. Each block is compared with the training set in chunks of
 * `trainChunkSize`, merging the running top-k with each chunk's top-k, so the largest similarity matrix
 * is queryBatchSize × trainChunkSize whatever the training set's size.
 */
async function forEachNeighbourBlock(
  train: FeatureSet,
  queries: Float32Array,
  k: number,
  options: Pick<KnnOptions, 'queryBatchSize' | 'trainChunkSize'>,
  visit: (sim: tf.Tensor2D, idx: tf.Tensor2D, start: number, count: number) => Promise<void>,
): Promise<void> {
  const queryBatch = options.queryBatchSize ?? 256;
  const trainChunk = options.trainChunkSize ?? 8192;
  if (!Number.isInteger(queryBatch) || queryBatch < 1)
    throw new Error(`kNN: queryBatchSize must be a positive integer (got ${queryBatch})`);
  if (!Number.isInteger(trainChunk) || trainChunk < 1)
    throw new Error(`kNN: trainChunkSize must be a positive integer (got ${trainChunk})`);
  const dim = train.dim;
  const numTrain = train.features.length / dim;
  const numQueries = queries.length / dim;
  const trainX = tf.tidy(() => normalise(tf.tensor2d(train.features, [numTrain, dim])));
  try {
    for (let start = 0; start < numQueries; start += queryBatch) {
      const n = Math.min(queryBatch, numQueries - start);
      const q = tf.tidy(() =>
        normalise(tf.tensor2d(queries.subarray(start * dim, (start + n) * dim), [n, dim])),
      );
      // Running top-k over the training chunks seen so far: similarities [n, k] (descending) and indices.
      let best: [tf.Tensor2D, tf.Tensor2D] | undefined;
      try {
        for (let t0 = 0; t0 < numTrain; t0 += trainChunk) {
          const t = Math.min(trainChunk, numTrain - t0);
          const previous = best;
          best = tf.tidy(() => {
            const sims = tf.matMul(q, trainX.slice([t0, 0], [t, dim]), false, true);
            const top = tf.topk(sims, Math.min(k, t));
            const idx = tf.add(top.indices, tf.scalar(t0, 'int32')) as tf.Tensor2D;
            if (!previous) return [top.values, idx] as [tf.Tensor2D, tf.Tensor2D];
            const candidates = tf.concat([previous[0], top.values], 1);
            const merged = tf.topk(candidates, Math.min(k, candidates.shape[1] as number));
            return [merged.values, tf.gather(tf.concat([previous[1], idx], 1), merged.indices, 1, 1)] as [
              tf.Tensor2D,
              tf.Tensor2D,
            ];
          });
          if (previous) tf.dispose(previous);
        }
      } finally {
        q.dispose();
      }
      const [sim, idx] = best as [tf.Tensor2D, tf.Tensor2D];
      try {
        await visit(sim, idx, start, n);
      } finally {
        tf.dispose([sim, idx]);
      }
      // Let heartbeats and cancellation through between blocks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    trainX.dispose();
  }
}

/** The k nearest training examples of each query, row-major [numQueries, k], most similar first. */
export interface Neighbours {
  /** min(requested k, training set size). */
  k: number;
  /** Indices into the training set. */
  indices: Int32Array;
  /** Their cosine similarities to the query, in [-1, 1], descending along each row. */
  similarities: Float32Array;
}

/**
 * The k training features nearest to each query row by cosine similarity (the kNN monitor's search,
 * without the vote): for the report's grid of query images and their nearest training images.
 */
export async function nearestNeighbours(
  train: FeatureSet,
  queries: Float32Array,
  k: number,
  options: Pick<KnnOptions, 'queryBatchSize' | 'trainChunkSize'> = {},
): Promise<Neighbours> {
  const numTrain = checkFeatureSet(train, 'train');
  if (numTrain === 0) throw new Error('nearestNeighbours: no training examples');
  if (!Number.isInteger(k) || k < 1)
    throw new Error(`nearestNeighbours: k must be a positive integer (got ${k})`);
  if (queries.length % train.dim !== 0)
    throw new Error(
      `nearestNeighbours: ${queries.length} query values are not rows of dimension ${train.dim}`,
    );
  const kk = Math.min(k, numTrain);
  const numQueries = queries.length / train.dim;
  const indices = new Int32Array(numQueries * kk);
  const similarities = new Float32Array(numQueries * kk);
  await forEachNeighbourBlock(train, queries, kk, options, async (sim, idx, start) => {
    similarities.set(await sim.data(), start * kk);
    indices.set(await idx.data(), start * kk);
  });
  return { k: kk, indices, similarities };
}

/** Rows scaled to unit L2 norm (a zero row stays zero). */
function normalise(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.norm(x, 2, 1, true), 1e-12));
}

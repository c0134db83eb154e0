/**
 * What the report shows of a representation, drawn from the features evaluation already computed: a
 * seeded, class-balanced sample of test images with their features (the points of the embedding map
 * and of the TensorBoard projector), and a few query test images, class-balanced, with their k nearest
 * training images by cosine similarity (the neighbour grid). The same seed and labels give the same
 * images for every encoder, so the trained and the random-init maps show the same points.
 *
 * @example
 *   const sample = await sampleRepresentation(train, test, { points: 3000, queries: 10, k: 8, seed: 42 });
 *   sample.queries[0].neighbours[0]; // { index: 1234, label: 3, similarity: 0.97 } (a training image)
 */
import { classBalancedSample } from '../datasets/splits';
import { checkFeatureSet, type FeatureSet } from './features';
import { nearestNeighbours } from './knn';

/** A training image near a query: its index in the training split, its label, its cosine similarity. */
export interface Neighbour {
  index: number;
  label: number;
  similarity: number;
}

/** A query test image and its nearest training images, most similar first. */
export interface NeighbourQuery {
  /** Index in the test split. */
  index: number;
  label: number;
  neighbours: Neighbour[];
}

export interface RepresentationSample {
  dim: number;
  /** Indices of the sampled test images, ascending. */
  indices: Int32Array;
  /** Their labels. */
  labels: Int32Array;
  /** Their features, row-major [indices.length, dim], as the encoder produced them (not normalised). */
  embeddings: Float32Array;
  /** Ordered by label, then index. */
  queries: NeighbourQuery[];
}

export interface RepresentationSampleOptions {
  /** At most this many sampled test images (config/defaults.ts REPRESENTATION_VIEW_DEFAULTS.mapPoints). */
  points: number;
  /** At most this many queries, classes taking turns (one per class when there are as many classes). */
  queries: number;
  /** Neighbours per query. */
  k: number;
  /** The experiment's seed: which images are drawn. */
  seed: number;
}

/** Rows `indices` of a row-major [n, dim] matrix. */
function rows(features: Float32Array, dim: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++)
    out.set(features.subarray(indices[i] * dim, (indices[i] + 1) * dim), i * dim);
  return out;
}

/** The sample of `test` and the neighbours of its queries in `train` (see the module comment). */
export async function sampleRepresentation(
  train: FeatureSet,
  test: FeatureSet,
  options: RepresentationSampleOptions,
): Promise<RepresentationSample> {
  checkFeatureSet(train, 'train');
  const numTest = checkFeatureSet(test, 'test');
  if (numTest === 0) throw new Error('sampleRepresentation: no test images');
  if (train.dim !== test.dim)
    throw new Error(`sampleRepresentation: train features have dimension ${train.dim}, test ${test.dim}`);
  const { dim } = test;
  const indices = classBalancedSample(test.labels, options.points, options.seed);
  const queryIndices = [...classBalancedSample(test.labels, options.queries, options.seed)].sort(
    (a, b) => test.labels[a] - test.labels[b] || a - b,
  );
  const found = await nearestNeighbours(train, rows(test.features, dim, queryIndices), options.k);
  const queries = queryIndices.map((index, q) => ({
    index,
    label: test.labels[index],
    neighbours: Array.from({ length: found.k }, (_, j) => {
      const n = found.indices[q * found.k + j];
      return { index: n, label: train.labels[n], similarity: found.similarities[q * found.k + j] };
    }),
  }));
  return {
    dim,
    indices,
    labels: Int32Array.from(indices, (i) => test.labels[i]),
    embeddings: rows(test.features, dim, indices),
    queries,
  };
}

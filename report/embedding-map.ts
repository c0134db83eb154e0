/**
 * A 2-D map of embeddings by UMAP (McInnes, Healy, Melville 2018, "UMAP: Uniform Manifold Approximation
 * and Projection"; the umap-js port), seeded: umap-js draws every random number (nearest-neighbour
 * descent, initial layout, negative samples) from the function it is given, here a simclr/rng.ts stream
 * keyed by the run's seed, so the same embeddings and seed draw the same map, coordinate for coordinate.
 *
 * Rows are L2-normalised first: SimCLR compares representations by cosine similarity (the loss, the kNN
 * monitor), and on the unit sphere Euclidean distance is a monotone function of it.
 *
 * @example
 *   const xy = await embeddingMap(sample.embeddings, sample.dim, { seed: 42, stream: 0 }); // [n, 2]
 */
import { UMAP } from 'umap-js';
import { REPRESENTATION_VIEW_DEFAULTS } from '../config/defaults';
import { Rng, RNG_STREAMS } from '../simclr/rng';

export interface EmbeddingMapOptions {
  /** The run's seed. */
  seed: number;
  /** Which map of the run (one per encoder), so two maps do not share their random numbers. */
  stream: number;
  /** UMAP's neighbourhood size and minimum distance (default: REPRESENTATION_VIEW_DEFAULTS.umap). */
  nNeighbors?: number;
  minDist?: number;
  /** Called every 10 optimisation epochs with the epoch and their number (heartbeats). */
  onEpoch?: (epoch: number, epochs: number) => void;
}

/** Fewer points than this make no map (UMAP needs neighbours to build its graph from). */
export const MIN_MAP_POINTS = 5;

/**
 * The 2-D UMAP coordinates of the `dim`-wide rows of `embeddings`, row-major [n, 2]. Throws for fewer
 * than MIN_MAP_POINTS rows; with fewer rows than nNeighbors + 1 the neighbourhood shrinks to n − 1.
 */
export async function embeddingMap(
  embeddings: Float32Array,
  dim: number,
  options: EmbeddingMapOptions,
): Promise<Float32Array> {
  if (!Number.isInteger(dim) || dim < 1 || embeddings.length % dim !== 0)
    throw new Error(`embeddingMap: ${embeddings.length} values are not rows of dimension ${dim}`);
  const n = embeddings.length / dim;
  if (n < MIN_MAP_POINTS)
    throw new Error(`embeddingMap: ${n} points are too few for a map (at least ${MIN_MAP_POINTS})`);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(embeddings.subarray(i * dim, (i + 1) * dim));
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0)) || 1;
    rows.push(row.map((v) => v / norm));
  }
  const rng = new Rng({
    seed: options.seed,
    epoch: 0,
    index: options.stream,
    view: RNG_STREAMS.embeddingMap,
  });
  const defaults = REPRESENTATION_VIEW_DEFAULTS.umap;
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(options.nNeighbors ?? defaults.nNeighbors, n - 1),
    minDist: options.minDist ?? defaults.minDist,
    random: () => rng.uniform(),
  });
  const epochs = umap.initializeFit(rows);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    umap.step();
    if (epoch % 10 === 0 || epoch === epochs) {
      options.onEpoch?.(epoch, epochs);
      // Let heartbeats through: a map of thousands of points takes seconds.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  const out = new Float32Array(n * 2);
  umap.getEmbedding().forEach(([x, y], i) => {
    out[2 * i] = x;
    out[2 * i + 1] = y;
  });
  return out;
}

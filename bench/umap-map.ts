/**
 * Time of the report's embedding map (report/embedding-map.ts: seeded UMAP by umap-js) for a few
 * numbers of points, on clustered synthetic features (10 Gaussian clusters in `dim` dimensions, the
 * shape of a trained encoder's test set): the figure behind REPRESENTATION_VIEW_DEFAULTS.mapPoints.
 * Not run by the tests.
 *
 *   npm run bench -- umap [--points 2000,3000,5000] [--dim 64]
 *
 * Output: one JSON line per size.
 */
import os from 'node:os';
import { embeddingMap } from '../report/embedding-map';
import { Rng } from '../simclr/rng';

function clustered(n: number, dim: number): Float32Array {
  const rng = new Rng({ seed: 1, epoch: 0, index: n, view: 77 });
  const centres = Array.from({ length: 10 }, () =>
    Array.from({ length: dim }, () => rng.uniformRange(-1, 1)),
  );
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < dim; j++) out[i * dim + j] = centres[i % 10][j] + rng.uniformRange(-0.75, 0.75);
  return out;
}

export async function umapCommand(argv: string[]): Promise<void> {
  const flag = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const sizes = flag('points', '2000,3000,5000').split(',').map(Number);
  const dim = Number(flag('dim', '64'));
  if (sizes.some((n) => !Number.isInteger(n) || n < 5) || !Number.isInteger(dim) || dim < 1)
    throw new Error('--points takes comma-separated integers >= 5, --dim a positive integer');
  for (const points of sizes) {
    const data = clustered(points, dim);
    let epochs = 0;
    const start = performance.now();
    await embeddingMap(data, dim, { seed: 1, stream: 0, onEpoch: (_, total) => (epochs = total) });
    const seconds = (performance.now() - start) / 1000;
    console.log(
      JSON.stringify({
        points,
        dim,
        epochs,
        seconds: Number(seconds.toFixed(2)),
        cpus: os.availableParallelism(),
        load1: os.loadavg()[0],
      }),
    );
  }
}

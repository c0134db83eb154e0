/**
 * Nearest neighbours by cosine similarity over an embeddings file, streaming: one batch of rows in
 * memory at a time and a k-sized list of the best so far, so a file of a million rows needs no more
 * than a file of a thousand.
 *
 * @example
 *   const file = await openEmbeddings('fm.parquet');
 *   const q = await rowEmbedding(file, 42);
 *   const top = await nearestNeighbours(file, q.embedding, 10, { exclude: 42 });
 */
import type { EmbeddingsFile } from './embeddings-file';

export interface Neighbour {
  index: number;
  split: 'train' | 'test';
  name: string;
  /** Class index, −1 when unlabelled. */
  label: number;
  similarity: number;
}

/** The row `index` of the file (its embedding and ids), or undefined when the file has fewer rows. */
export async function rowEmbedding(
  file: EmbeddingsFile,
  index: number,
): Promise<(Omit<Neighbour, 'similarity'> & { embedding: Float32Array }) | undefined> {
  for await (const b of file.batches()) {
    const i = index - b.start;
    if (i < 0 || i >= b.names.length) continue;
    return {
      index,
      split: b.splits[i],
      name: b.names[i],
      label: b.labels[i],
      embedding: b.embeddings.slice(i * b.dim, (i + 1) * b.dim),
    };
  }
  return undefined;
}

function norm(v: Float32Array, from = 0, dim = v.length): number {
  let s = 0;
  for (let j = from; j < from + dim; j++) s += v[j] * v[j];
  return Math.sqrt(s);
}

/**
 * The `k` rows most similar to `query` (cosine, highest first; ties by row order), leaving out the row
 * `exclude` (the query's own row when it came from the file). A zero vector has similarity 0.
 */
export async function nearestNeighbours(
  file: EmbeddingsFile,
  query: Float32Array,
  k: number,
  opts: { exclude?: number } = {},
): Promise<Neighbour[]> {
  if (query.length !== file.meta.dim)
    throw new Error(`query has ${query.length} dimensions, the embeddings ${file.meta.dim}`);
  const qn = norm(query) || 1;
  const best: Neighbour[] = [];
  for await (const b of file.batches()) {
    for (let i = 0; i < b.names.length; i++) {
      const index = b.start + i;
      if (index === opts.exclude) continue;
      let dot = 0;
      const at = i * b.dim;
      for (let j = 0; j < b.dim; j++) dot += query[j] * b.embeddings[at + j];
      const n = norm(b.embeddings, at, b.dim);
      const similarity = n > 0 ? dot / (qn * n) : 0;
      if (best.length === k && similarity <= best[k - 1].similarity) continue;
      const entry = { index, split: b.splits[i], name: b.names[i], label: b.labels[i], similarity };
      let pos = best.length;
      while (pos > 0 && best[pos - 1].similarity < similarity) pos--;
      best.splice(pos, 0, entry);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

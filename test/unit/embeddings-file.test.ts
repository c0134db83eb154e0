/**
 * The embeddings file (simclr/embeddings-file.ts) in both formats: written in batches, read back in
 * batches with every column intact (names with commas and quotes, unlabelled rows), refused with a
 * message naming the file when it is not one; and the streaming nearest-neighbour search over it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEmbeddingsWriter,
  npyHeader,
  openEmbeddings,
  parseCsvLine,
  type EmbeddingBatch,
  type EmbeddingsMeta,
} from '../../simclr/embeddings-file';
import { nearestNeighbours, rowEmbedding } from '../../simclr/neighbors';

const DIM = 3;
const meta = (rows: number): EmbeddingsMeta => ({
  format: 'simclr-embeddings',
  version: 1,
  rows,
  dim: DIM,
  model: { kind: 'exported', ref: '/models/x' },
  modelDescription: 'exported model /models/x',
  imageShape: { height: 8, width: 8, channels: 1 },
  source: { uri: '/data/x', format: 'folder', datasetId: 'd1', splits: ['train', 'test'] },
  classNames: ['a', 'b'],
  embedId: 'e1',
  createdAt: '2026-01-01T00:00:00.000Z',
});

/** Rows i = 0..n-1 with embedding [i, 1, -i / 2], name `dir/f,${i}"q".png`, label i % 3 − 1 (−1 = none). */
function batch(start: number, n: number): EmbeddingBatch {
  return {
    start,
    splits: Array.from({ length: n }, (_, i) => (start + i < 4 ? 'train' : 'test')),
    names: Array.from({ length: n }, (_, i) => `dir/f,${start + i}"q".png`),
    labels: Int32Array.from({ length: n }, (_, i) => ((start + i) % 3) - 1),
    embeddings: Float32Array.from({ length: n * DIM }, (_, j) => {
      const r = start + Math.floor(j / DIM);
      return [r, 1, -r / 2][j % DIM];
    }),
    dim: DIM,
  };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simclr-embfile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const format of ['parquet', 'npy'] as const) {
  describe(`embeddings file (${format})`, () => {
    const path = () => join(dir, `e.${format}`);

    it('reads back every row, in order, in batches, with its metadata', async () => {
      const w = await createEmbeddingsWriter(path(), format, meta(7));
      await w.append(batch(0, 4));
      await w.append(batch(4, 0));
      await w.append(batch(4, 3));
      await w.finish();
      const file = await openEmbeddings(path());
      assert.deepEqual(file.meta, meta(7));
      const rows: EmbeddingBatch[] = [];
      for await (const b of file.batches(format === 'npy' ? 3 : undefined)) rows.push(b);
      assert.ok(rows.length >= 2, 'more than one batch');
      const all = {
        splits: rows.flatMap((b) => b.splits),
        names: rows.flatMap((b) => b.names),
        labels: rows.flatMap((b) => Array.from(b.labels)),
        embeddings: rows.flatMap((b) => Array.from(b.embeddings)),
      };
      const want = batch(0, 7);
      assert.deepEqual(all.splits, want.splits);
      assert.deepEqual(all.names, want.names);
      assert.deepEqual(all.labels, Array.from(want.labels));
      assert.deepEqual(all.embeddings, Array.from(want.embeddings));
    });

    it('nearest neighbours by cosine similarity, streaming, without the excluded row', async () => {
      const file = await openEmbeddings(path());
      const q = await rowEmbedding(file, 2);
      assert.deepEqual(Array.from(q!.embedding), [2, 1, -1]);
      assert.equal(await rowEmbedding(file, 7), undefined);
      const top = await nearestNeighbours(file, q!.embedding, 3, { exclude: 2 });
      // cos([2,1,-1], [r,1,-r/2]) = (2.5r + 1) / (√6 · √(1.25r² + 1)): 1 at r = 2, 0.992 at 3, 0.980 at
      // 4, 0.971 at 5, 0.953 at 1.
      assert.deepEqual(
        top.map((n) => n.index),
        [3, 4, 5],
      );
      assert.ok(top[0].similarity > top[1].similarity && top[1].similarity > top[2].similarity);
      assert.ok(Math.abs(top[0].similarity - 8.5 / (Math.sqrt(6) * 3.5)) < 1e-6, String(top[0].similarity));
      await assert.rejects(nearestNeighbours(file, new Float32Array(2), 3), /2 dimensions, the embeddings 3/);
    });

    it('refuses a batch out of order and a short file', async () => {
      const w = await createEmbeddingsWriter(join(dir, `short.${format}`), format, meta(5));
      await assert.rejects(w.append(batch(1, 2)), /starts at row 1, expected 0/);
      await w.append(batch(0, 2));
      await assert.rejects(w.finish(), /wrote 2 rows of 5/);
    });
  });
}

describe('embeddings file errors and formats', () => {
  it('names the file that is not an embeddings file', async () => {
    await assert.rejects(openEmbeddings(join(dir, 'x.csv')), /x\.csv: expected a \.parquet or \.npy/);
    await assert.rejects(openEmbeddings(join(dir, 'none.parquet')), /none\.parquet: no such file/);
    await writeFile(join(dir, 'bad.parquet'), 'not parquet at all');
    await assert.rejects(openEmbeddings(join(dir, 'bad.parquet')), /bad\.parquet: not a Parquet file/);
    await writeFile(join(dir, 'lone.npy'), npyHeader(1, 3));
    await assert.rejects(openEmbeddings(join(dir, 'lone.npy')), /companion .*lone\.csv is missing/);
  });

  it('writes an NPY 1.0 header numpy reads: magic, version, 64-byte aligned dict', () => {
    const h = Buffer.from(npyHeader(10000, 64));
    assert.equal(h.length % 64, 0);
    assert.equal(h.toString('latin1', 1, 6), 'NUMPY');
    assert.deepEqual([h[0], h[6], h[7]], [0x93, 1, 0]);
    assert.equal(h.readUInt16LE(8), h.length - 10);
    assert.match(
      h.toString('latin1', 10),
      /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(10000, 64\), \} *\n$/,
    );
  });

  it('parses quoted CSV fields', async () => {
    assert.deepEqual(parseCsvLine('3,test,"a,""b"".png",'), ['3', 'test', 'a,"b".png', '']);
    assert.deepEqual(parseCsvLine('0,train,x.png,1'), ['0', 'train', 'x.png', '1']);
    const csv = await readFile(join(dir, 'e.csv'), 'utf8');
    assert.equal(csv.split('\n')[1], '0,train,"dir/f,0""q"".png",');
  });
});

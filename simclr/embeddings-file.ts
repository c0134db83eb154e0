/**
 * The embeddings file of `simclr embed`, in one place: its writer (streaming, one part at a time) and
 * its reader (streaming, one batch at a time), so `simclr neighbors`, the tests and any other reader
 * never hold every embedding at once. Two formats:
 *
 * - **Parquet** (`.parquet`, written with hyparquet-writer, read with hyparquet or any Parquet reader:
 *   pandas, pyarrow, DuckDB). One row per image, one row group per part (dataset shard):
 *
 *   | column      | type                        | what                                                       |
 *   |-------------|-----------------------------|------------------------------------------------------------|
 *   | `index`     | INT32                       | the row number, 0-based                                     |
 *   | `split`     | STRING                      | `train` or `test` (the source's split the image is in)      |
 *   | `name`      | STRING                      | the image's id in the source (see below)                    |
 *   | `label`     | INT32, nullable             | the class index into `classNames`; null when unlabelled     |
 *   | `embedding` | LIST<FLOAT> (3-level LIST)  | the encoder's representation h (global-average pool), d floats |
 *
 *   The metadata (EmbeddingsMeta: the model, the source, the image shape, the class names) is the JSON
 *   of the key-value metadata entry `simclr.embeddings`.
 *
 * - **NumPy** (`.npy`, float32 little-endian, shape (rows, d), `np.load` reads it) with two files beside
 *   it: `<base>.csv` (`index,split,name,label`, one line per row, label empty when unlabelled) and
 *   `<base>.json` (the metadata).
 *
 * The `name` of a row: for an image folder its path relative to the source folder (`cat/001.png`), for
 * IDX and CIFAR-10 `<split>/<index in the source's file>` (`test/123`). With the source's location in
 * the metadata, it finds the image again (simclr/source-images.ts).
 *
 * @example
 *   const file = await openEmbeddings('fm-test.parquet');
 *   for await (const batch of file.batches()) console.log(batch.start, batch.names.length, batch.dim);
 */
import { closeSync, createReadStream, existsSync, openSync, readSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { EMBEDDING_FORMATS, type EmbeddingFormat } from '../contracts/embed';

/** hyparquet-writer's and hyparquet's Node entries (ESM only: loaded with import()). */
type NodeParquetWriter = typeof import('hyparquet-writer/types/node');
type NodeParquetReader = typeof import('hyparquet/types/node');

export const EMBEDDINGS_FORMAT = 'simclr-embeddings';
export const EMBEDDINGS_VERSION = 1;
/** The Parquet key-value metadata key that holds the EmbeddingsMeta JSON. */
export const PARQUET_META_KEY = 'simclr.embeddings';

const positiveInt = z.number().int().positive();

export const embeddingsMetaSchema = z.object({
  format: z.literal(EMBEDDINGS_FORMAT),
  version: z.literal(EMBEDDINGS_VERSION),
  rows: z.number().int().nonnegative(),
  dim: positiveInt,
  /** The encoder that made the embeddings, so a query image can be embedded the same way. */
  model: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('checkpoint'),
      /** What simclr/encoder-source.ts resolves: the checkpoint key (or folder). */
      ref: z.string(),
      key: z.string(),
      step: z.number().int().nonnegative(),
      experimentId: z.string().optional(),
      /** The store the checkpoint is in (a location, never credentials). */
      storeLocation: z.string(),
    }),
    /** `ref`: the export folder (`simclr export --out`). */
    z.object({ kind: z.literal('exported'), ref: z.string() }),
  ]),
  modelDescription: z.string(),
  /** What the encoder was fed: uint8 HWC images of this shape, scaled to [0, 1] (simclr/images.ts). */
  imageShape: z.object({
    height: positiveInt,
    width: positiveInt,
    channels: z.union([z.literal(1), z.literal(3)]),
  }),
  source: z.object({
    uri: z.string(),
    format: z.enum(['folder', 'idx', 'cifar10']),
    datasetId: z.string(),
    splits: z.array(z.enum(['train', 'test'])),
  }),
  classNames: z.array(z.string()),
  embedId: z.string(),
  createdAt: z.string(),
});
export type EmbeddingsMeta = z.infer<typeof embeddingsMetaSchema>;

/** Consecutive rows of the file. */
export interface EmbeddingBatch {
  /** Row number of the first row. */
  start: number;
  splits: ('train' | 'test')[];
  names: string[];
  /** Class index per row, −1 when unlabelled. */
  labels: Int32Array;
  /** Row-major [names.length, dim]. */
  embeddings: Float32Array;
  dim: number;
}

/** The format a file name implies: `.npy` → npy, `.parquet` → parquet, else undefined. */
export function formatOfPath(path: string): EmbeddingFormat | undefined {
  if (/\.npy$/i.test(path)) return 'npy';
  if (/\.parquet$/i.test(path)) return 'parquet';
  return undefined;
}

/** The files that make up an embeddings file of `format` at `path` (the `.npy`'s CSV and metadata beside it). */
export function embeddingsFiles(path: string, format: EmbeddingFormat): string[] {
  if (format === 'parquet') return [path];
  const base = path.replace(/\.npy$/i, '');
  return [path, `${base}.csv`, `${base}.json`];
}

export { EMBEDDING_FORMATS };

// --- writing --------------------------------------------------------------------------------------

export interface EmbeddingsWriter {
  /** Appends the next rows (their `start` must follow the previous batch). */
  append(batch: EmbeddingBatch): Promise<void>;
  /** Writes the footer (Parquet) and closes the files. */
  finish(): Promise<void>;
}

/** The Parquet schema of the file (the table in the module comment). */
const PARQUET_SCHEMA = [
  { name: 'root', num_children: 5 },
  { name: 'index', type: 'INT32', repetition_type: 'REQUIRED' },
  { name: 'split', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'label', type: 'INT32', repetition_type: 'OPTIONAL' },
  { name: 'embedding', repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
] as const;

/**
 * A writer of `meta.rows` rows to `path` (and, for npy, its CSV and metadata beside it). Memory holds one
 * batch at a time: Parquet writes a row group per batch and flushes it to disk (hyparquet-writer's file
 * writer), npy writes its header first (the row count is known) and appends the rows.
 */
export async function createEmbeddingsWriter(
  path: string,
  format: EmbeddingFormat,
  meta: EmbeddingsMeta,
): Promise<EmbeddingsWriter> {
  const checkBatch = (b: EmbeddingBatch, next: number) => {
    if (b.start !== next)
      throw new Error(`embeddings writer: batch starts at row ${b.start}, expected ${next}`);
    if (b.dim !== meta.dim)
      throw new Error(`embeddings writer: batch of width ${b.dim}, file of ${meta.dim}`);
    if (b.embeddings.length !== b.names.length * b.dim || b.labels.length !== b.names.length)
      throw new Error(`embeddings writer: batch at row ${b.start} has mismatched columns`);
  };
  let next = 0;
  if (format === 'parquet') {
    // The Node entry (its types are types/node.d.ts; moduleResolution 'node' picks the browser ones).
    const { ParquetWriter, fileWriter } = (await import('hyparquet-writer')) as unknown as NodeParquetWriter;
    const writer = new ParquetWriter({
      writer: fileWriter(path),
      schema: PARQUET_SCHEMA.map((e) => ({ ...e })),
      kvMetadata: [{ key: PARQUET_META_KEY, value: JSON.stringify(meta) }],
      createdBy: 'simclr embed',
    });
    return {
      async append(b) {
        checkBatch(b, next);
        const n = b.names.length;
        if (n === 0) return;
        await writer.write({
          rowGroupSize: n,
          columnData: [
            { name: 'index', data: Int32Array.from({ length: n }, (_, i) => b.start + i) },
            { name: 'split', data: b.splits },
            { name: 'name', data: b.names },
            { name: 'label', data: Array.from(b.labels, (l) => (l < 0 ? null : l)) },
            {
              name: 'embedding',
              data: Array.from({ length: n }, (_, i) =>
                Array.from(b.embeddings.subarray(i * b.dim, (i + 1) * b.dim)),
              ),
            },
          ],
        });
        next += n;
      },
      async finish() {
        if (next !== meta.rows) throw new Error(`embeddings writer: wrote ${next} rows of ${meta.rows}`);
        writer.finish();
      },
    };
  }
  const [npyPath, csvPath, metaPath] = embeddingsFiles(path, 'npy');
  const npy = openSync(npyPath, 'w');
  const csv = openSync(csvPath, 'w');
  writeSync(npy, npyHeader(meta.rows, meta.dim));
  writeSync(csv, 'index,split,name,label\n');
  return {
    async append(b) {
      checkBatch(b, next);
      const bytes = new Uint8Array(b.embeddings.buffer, b.embeddings.byteOffset, b.embeddings.byteLength);
      writeSync(npy, littleEndian(bytes));
      const lines = b.names.map(
        (name, i) =>
          `${b.start + i},${b.splits[i]},${csvField(name)},${b.labels[i] < 0 ? '' : b.labels[i]}\n`,
      );
      writeSync(csv, lines.join(''));
      next += b.names.length;
    },
    async finish() {
      closeSync(npy);
      closeSync(csv);
      if (next !== meta.rows) throw new Error(`embeddings writer: wrote ${next} rows of ${meta.rows}`);
      const { writeFileSync } = await import('node:fs');
      writeFileSync(metaPath, JSON.stringify(meta, null, 2) + '\n');
    },
  };
}

const bigEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/** Float32 bytes in little-endian order (a copy with the bytes swapped on a big-endian host). */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (!bigEndianHost) return bytes;
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i += 4) out.subarray(i, i + 4).reverse();
  return out;
}

/** The NPY 1.0 header of a C-order float32 array of shape (rows, dim), padded to 64 bytes. */
export function npyHeader(rows: number, dim: number): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const unpadded = 10 + dict.length + 1;
  const text = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + text.length);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(Buffer.from(text, 'latin1'), 10);
  return out;
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The fields of one CSV line (RFC 4180 quoting; a field with a line break is not supported). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') break;
        else v += line[i++];
      }
      out.push(v);
      i += 2; // closing quote and comma
    } else {
      const end = line.indexOf(',', i);
      out.push(line.slice(i, end < 0 ? line.length : end));
      i = end < 0 ? line.length + 1 : end + 1;
    }
  }
  return out;
}

// --- reading --------------------------------------------------------------------------------------

export interface EmbeddingsFile {
  path: string;
  format: EmbeddingFormat;
  meta: EmbeddingsMeta;
  /** The rows in order, a batch at a time (a row group of Parquet; `batchRows` rows of npy). */
  batches(batchRows?: number): AsyncGenerator<EmbeddingBatch>;
}

/** Thrown for a file that is not an embeddings file of this format; the message names the file. */
export class EmbeddingsFileError extends Error {
  override readonly name = 'EmbeddingsFileError';
}

function parseMeta(text: string | undefined, where: string): EmbeddingsMeta {
  if (text === undefined) throw new EmbeddingsFileError(`${where}: no simclr embeddings metadata`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EmbeddingsFileError(`${where}: metadata is not JSON (${(err as Error).message})`);
  }
  const parsed = embeddingsMetaSchema.safeParse(value);
  if (!parsed.success)
    throw new EmbeddingsFileError(
      `${where}: not simclr embeddings metadata (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`,
    );
  return parsed.data;
}

/** Opens an embeddings file written by createEmbeddingsWriter (the format from its extension). */
export async function openEmbeddings(path: string): Promise<EmbeddingsFile> {
  const format = formatOfPath(path);
  if (!format)
    throw new EmbeddingsFileError(
      `${path}: expected a .parquet or .npy embeddings file (simclr embed --out)`,
    );
  if (!existsSync(path)) throw new EmbeddingsFileError(`${path}: no such file`);
  return format === 'parquet' ? openParquet(path) : openNpy(path);
}

async function openParquet(path: string): Promise<EmbeddingsFile> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } =
    (await import('hyparquet')) as unknown as NodeParquetReader;
  const file = await asyncBufferFromFile(path);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new EmbeddingsFileError(`${path}: not a Parquet file (${(err as Error).message})`);
  }
  const meta = parseMeta(metadata.key_value_metadata?.find((kv) => kv.key === PARQUET_META_KEY)?.value, path);
  return {
    path,
    format: 'parquet',
    meta,
    async *batches() {
      let start = 0;
      for (const group of metadata.row_groups) {
        const n = Number(group.num_rows);
        const rows = (await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: start + n })) as {
          split: 'train' | 'test';
          name: string;
          label: number | null;
          embedding: number[];
        }[];
        const embeddings = new Float32Array(n * meta.dim);
        rows.forEach((r, i) => embeddings.set(r.embedding, i * meta.dim));
        yield {
          start,
          splits: rows.map((r) => r.split),
          names: rows.map((r) => r.name),
          labels: Int32Array.from(rows, (r) => r.label ?? -1),
          embeddings,
          dim: meta.dim,
        };
        start += n;
      }
    },
  };
}

/** The row count, width and data offset of an NPY file of float32 (rows, dim), or an error naming it. */
function readNpyHeader(path: string): { rows: number; dim: number; offset: number } {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(12);
    readSync(fd, head, 0, 12, 0);
    if (head[0] !== 0x93 || head.toString('latin1', 1, 6) !== 'NUMPY')
      throw new EmbeddingsFileError(`${path}: not an NPY file`);
    const major = head[6];
    const length = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const text = Buffer.alloc(length);
    readSync(fd, text, 0, length, start);
    const dict = text.toString('latin1');
    const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(dict);
    if (!/'descr':\s*'<f4'/.test(dict) || /'fortran_order':\s*True/.test(dict) || !shape)
      throw new EmbeddingsFileError(
        `${path}: expected a C-order float32 array of shape (rows, d), found ${dict.trim()}`,
      );
    return { rows: Number(shape[1]), dim: Number(shape[2]), offset: start + length };
  } finally {
    closeSync(fd);
  }
}

async function openNpy(path: string): Promise<EmbeddingsFile> {
  const [, csvPath, metaPath] = embeddingsFiles(path, 'npy');
  for (const p of [csvPath, metaPath])
    if (!existsSync(p)) throw new EmbeddingsFileError(`${path}: its companion ${p} is missing`);
  const { readFileSync } = await import('node:fs');
  const meta = parseMeta(readFileSync(metaPath, 'utf8'), metaPath);
  const header = readNpyHeader(path);
  if (header.rows !== meta.rows || header.dim !== meta.dim)
    throw new EmbeddingsFileError(
      `${path}: shape (${header.rows}, ${header.dim}) but ${metaPath} says (${meta.rows}, ${meta.dim})`,
    );
  return {
    path,
    format: 'npy',
    meta,
    async *batches(batchRows = 4096) {
      const lines = createInterface({ input: createReadStream(csvPath), crlfDelay: Infinity })[
        Symbol.asyncIterator
      ]();
      await lines.next(); // the header line
      const fd = openSync(path, 'r');
      try {
        for (let start = 0; start < meta.rows; start += batchRows) {
          const n = Math.min(batchRows, meta.rows - start);
          const bytes = Buffer.alloc(n * meta.dim * 4);
          readSync(fd, bytes, 0, bytes.length, header.offset + start * meta.dim * 4);
          const embeddings = new Float32Array(n * meta.dim);
          for (let i = 0; i < embeddings.length; i++) embeddings[i] = bytes.readFloatLE(i * 4);
          const splits: ('train' | 'test')[] = [];
          const names: string[] = [];
          const labels = new Int32Array(n);
          for (let i = 0; i < n; i++) {
            const line = await lines.next();
            if (line.done) throw new EmbeddingsFileError(`${csvPath}: ends before row ${start + i}`);
            const [, split, name, label] = parseCsvLine(line.value);
            splits.push(split as 'train' | 'test');
            names.push(name);
            labels[i] = label === '' || label === undefined ? -1 : Number(label);
          }
          yield { start, splits, names, labels, embeddings, dim: meta.dim };
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}

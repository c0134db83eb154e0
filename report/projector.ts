/**
 * TensorBoard Embedding Projector files for the report's test-set sample, written into the folder that
 * holds the run's TensorBoard event files, so `tensorboard --logdir <that folder>` shows them under
 * "Projector" (tensorboard/plugins/projector reads `projector_config.pbtxt` in the log folder, resolves
 * every path in it relative to that file and refuses paths outside its folder):
 *
 * ```
 * projector_config.pbtxt          one `embeddings { … }` per encoder (text-format ProjectorConfig)
 * projector/<encoder>.tsv         its features, one row per image, values tab-separated
 * projector/metadata.tsv          header `class\tlabel\ttest_index`, then one line per image
 * projector/sprite.png            the images as thumbnails, ⌈√n⌉ × ⌈√n⌉ tiles, row-major (./thumbnails.ts)
 * ```
 * The encoders share the images (the sample is drawn by the run's seed, the same for every encoder), so
 * they share the metadata and the sprite. The projector's metadata rule: with more than one column the
 * first line is the header, and the data lines must equal the tensor's rows.
 *
 * @example
 *   await writeProjector(tensorboardDir, { tensors: [{ name: 'pretrained', embeddings, dim }], indices, labels, classNames, pixels, shape });
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageShape } from '../simclr/images';
import { spriteSheet } from './thumbnails';

export const PROJECTOR_CONFIG = 'projector_config.pbtxt';
export const PROJECTOR_FOLDER = 'projector';

export interface ProjectorInput {
  /** One tensor per encoder: `name` is its file name and its name in the projector. */
  tensors: { name: string; embeddings: Float32Array; dim: number }[];
  /** The images' indices in the test split, their labels, and the dataset's class names. */
  indices: ArrayLike<number>;
  labels: ArrayLike<number>;
  classNames: readonly string[];
  /** The images themselves, back to back in the order of `indices`. */
  pixels: Uint8Array;
  shape: ImageShape;
}

export interface ProjectorFiles {
  /** Paths relative to the folder, config first. */
  files: string[];
  rows: number;
  /** The sprite's single thumbnail side in pixels, and its side in tiles. */
  tile: number;
  columns: number;
}

/** A string in a text-format protobuf: double-quoted, with `\` and `"` escaped. */
const quoted = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;

/** A metadata cell: tabs and line breaks would split the row, so they become spaces. */
const cell = (s: string) => s.replace(/[\t\r\n]+/g, ' ');

/** Writes the projector files into `dir` (created if missing); see the module comment. */
export async function writeProjector(dir: string, input: ProjectorInput): Promise<ProjectorFiles> {
  const rows = input.indices.length;
  if (rows === 0) throw new Error('writeProjector: no images');
  if (input.labels.length !== rows)
    throw new Error(`writeProjector: ${input.labels.length} labels for ${rows} images`);
  for (const t of input.tensors) {
    if (!/^[a-z][a-z0-9-]*$/.test(t.name))
      throw new Error(`writeProjector: tensor name '${t.name}' is not a file name`);
    if (t.embeddings.length !== rows * t.dim)
      throw new Error(
        `writeProjector: tensor '${t.name}' has ${t.embeddings.length} values, not ${rows} rows of ${t.dim}`,
      );
  }
  await mkdir(join(dir, PROJECTOR_FOLDER), { recursive: true });
  const rel = (name: string) => `${PROJECTOR_FOLDER}/${name}`;

  const files: string[] = [];
  for (const t of input.tensors) {
    const lines: string[] = [];
    for (let r = 0; r < rows; r++) {
      const row = t.embeddings.subarray(r * t.dim, (r + 1) * t.dim);
      // 7 significant digits: float32's precision, without float64's long tails.
      lines.push(Array.from(row, (v) => String(Number(v.toPrecision(7)))).join('\t'));
    }
    await writeFile(join(dir, rel(`${t.name}.tsv`)), lines.join('\n') + '\n');
    files.push(rel(`${t.name}.tsv`));
  }

  const meta = ['class\tlabel\ttest_index'];
  for (let r = 0; r < rows; r++) {
    const label = input.labels[r];
    meta.push(`${cell(input.classNames[label] ?? String(label))}\t${label}\t${input.indices[r]}`);
  }
  await writeFile(join(dir, rel('metadata.tsv')), meta.join('\n') + '\n');
  files.push(rel('metadata.tsv'));

  const sprite = await spriteSheet(input.pixels, rows, input.shape);
  await writeFile(join(dir, rel('sprite.png')), sprite.png);
  files.push(rel('sprite.png'));

  const config = input.tensors
    .map((t) =>
      [
        'embeddings {',
        `  tensor_name: ${quoted(t.name)}`,
        `  tensor_path: ${quoted(rel(`${t.name}.tsv`))}`,
        `  tensor_shape: ${rows}`,
        `  tensor_shape: ${t.dim}`,
        `  metadata_path: ${quoted(rel('metadata.tsv'))}`,
        '  sprite {',
        `    image_path: ${quoted(rel('sprite.png'))}`,
        `    single_image_dim: ${sprite.tile}`,
        `    single_image_dim: ${sprite.tile}`,
        '  }',
        '}',
      ].join('\n'),
    )
    .join('\n');
  await writeFile(join(dir, PROJECTOR_CONFIG), config + '\n');
  return { files: [PROJECTOR_CONFIG, ...files], rows, tile: sprite.tile, columns: sprite.columns };
}

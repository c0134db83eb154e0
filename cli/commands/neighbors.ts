/**
 * `simclr neighbors <embeddings-file> <image|index> [-k 10] [--out sheet.html|sheet.png]`: the k rows of
 * an embeddings file (`simclr embed`) nearest to a query by cosine similarity, read streaming
 * (simclr/neighbors.ts), as a table and optionally a contact sheet. The query is a row of the file, or
 * an image embedded with the model the file records (a run's checkpoint in the store, or an exported
 * model folder), fed exactly as the source's images were (decoded to the same shape).
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { storeUriFromEnv } from '../../infra/paths';
import { contactSheetHtml, contactSheetPng, TILE, type SheetTile } from '../../report/contact-sheet';
import { EmbeddingsFileError, openEmbeddings, type EmbeddingsFile } from '../../simclr/embeddings-file';
import { nearestNeighbours, rowEmbedding, type Neighbour } from '../../simclr/neighbors';
import { COMMON_OPTIONS, parseCommand, positionals, positiveIntFlag } from '../args';
import { table } from '../format';
import { CliError, EXIT_OK, EXIT_USAGE, type Output } from '../output';

export const usage = `usage: simclr neighbors <embeddings-file> <image|index> [-k 10] [--out sheet.html|sheet.png] [--json]

  <embeddings-file>     a .parquet or .npy file written by 'simclr embed'
  <image|index>         an image file (embedded with the model the file records), or a row index of the file
                        (that row is left out of its own neighbours)
  -k N                  how many neighbours (default 10)
  --out FILE            a contact sheet of the query and its neighbours: FILE.html (images inline) or FILE.png
  --json                print exactly one JSON document on stdout

A query image needs the file's model: a run's checkpoint in the store ($SIMCLR_STORE, default the filesystem
under $SIMCLR_HOME) or the exported model folder. Sheet images are read from the file's source (local
image folders, IDX and CIFAR-10 files).`;

const DEFAULT_K = 10;

type Query =
  | { kind: 'row'; index: number; embedding: Float32Array; name: string; label: number }
  | { kind: 'image'; path: string; embedding: Float32Array };

/** Embeds the image at `path` with the file's model, decoded to the shape its rows were embedded at. */
async function embedImage(file: EmbeddingsFile, path: string): Promise<Float32Array> {
  const { meta } = file;
  const { decodeImage } =
    require('../../simclr/datasets/decode') as typeof import('../../simclr/datasets/decode');
  let pixels: Uint8Array;
  try {
    pixels = await decodeImage(path, { size: meta.imageShape.height, channels: meta.imageShape.channels });
  } catch (err) {
    throw new CliError(`query image '${path}': ${(err as Error).message}`, EXIT_USAGE);
  }
  const { initBackend } = require('../../simclr/backend') as typeof import('../../simclr/backend');
  await initBackend('auto', () => undefined);
  const { extractFeatures } =
    require('../../simclr/evaluate/features') as typeof import('../../simclr/evaluate/features');
  const { loadEncoder, resolveEncoderSource } =
    require('../../simclr/encoder-source') as typeof import('../../simclr/encoder-source');
  const { openStore } = require('../../storage/open') as typeof import('../../storage/open');
  const uri = storeUriFromEnv();
  let source;
  try {
    source = await resolveEncoderSource(meta.model.ref, () => openStore(uri));
  } catch (err) {
    throw new CliError(
      `${file.path} was embedded with ${meta.modelDescription} (${meta.model.ref}` +
        `${meta.model.kind === 'checkpoint' ? ` in ${meta.model.storeLocation}` : ''}), which cannot be loaded here: ` +
        `${(err as Error).message}; ${meta.model.kind === 'checkpoint' ? 'set SIMCLR_STORE to that store, or ' : ''}query by row index`,
    );
  }
  const encoder = (await loadEncoder(source)).model;
  return extractFeatures(encoder, pixels, 1, meta.imageShape, 1);
}

async function readQuery(file: EmbeddingsFile, arg: string): Promise<Query> {
  if (/^\d+$/.test(arg) && !existsSync(arg)) {
    const index = Number(arg);
    const row = await rowEmbedding(file, index);
    if (!row)
      throw new CliError(
        `row ${index}: ${file.path} has ${file.meta.rows} rows (0 to ${file.meta.rows - 1})`,
        EXIT_USAGE,
      );
    return { kind: 'row', index, embedding: row.embedding, name: row.name, label: row.label };
  }
  if (!existsSync(arg) || !statSync(arg).isFile())
    throw new CliError(`query '${arg}' is neither an image file nor a row index`, EXIT_USAGE);
  return { kind: 'image', path: resolve(arg), embedding: await embedImage(file, resolve(arg)) };
}

const className = (file: EmbeddingsFile, label: number) =>
  label < 0 ? '' : (file.meta.classNames[label] ?? String(label));

/** "row 42 (test/00042, Dress)" or the image's path: the query as the table header and the sheet title name it. */
function describeQuery(file: EmbeddingsFile, query: Query): string {
  if (query.kind === 'image') return query.path;
  const label = className(file, query.label);
  return `row ${query.index} (${query.name}${label ? `, ${label}` : ''})`;
}

async function writeSheet(file: EmbeddingsFile, query: Query, top: Neighbour[], out: string): Promise<void> {
  const { fileThumbnail, rowThumbnail } =
    require('../../simclr/source-images') as typeof import('../../simclr/source-images');
  const tile = async (name: string): Promise<Pick<SheetTile, 'png' | 'missing'>> =>
    rowThumbnail(file.meta, name, TILE).catch((err: Error) => ({ missing: err.message }));
  const queryTile: SheetTile =
    query.kind === 'row'
      ? {
          caption: ['query', `row ${query.index}`, query.name, className(file, query.label)],
          ...(await tile(query.name)),
        }
      : {
          caption: ['query', query.path.split('/').pop() ?? query.path],
          png: await fileThumbnail(query.path, TILE),
        };
  const tiles: SheetTile[] = [queryTile];
  for (const [i, n] of top.entries())
    tiles.push({
      caption: [`#${i + 1} · ${n.similarity.toFixed(3)}`, `row ${n.index}`, n.name, className(file, n.label)],
      ...(await tile(n.name)),
    });
  const title = `${top.length} nearest neighbours of ${describeQuery(file, query)} in ${file.path}`;
  if (/\.png$/i.test(out)) await writeFile(out, await contactSheetPng(tiles));
  else await writeFile(out, contactSheetHtml(title, tiles));
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    { ...COMMON_OPTIONS, k: { type: 'string', short: 'k' }, out: { type: 'string' } },
    usage,
  );
  const [filePath, queryArg] = positionals(pos, ['embeddings-file', 'image|index'], usage);
  const k = positiveIntFlag(values.k, 'k', DEFAULT_K);
  if (values.out && !/\.(html?|png)$/i.test(values.out))
    throw new CliError(`--out '${values.out}': a contact sheet is .html or .png`, EXIT_USAGE);
  let file: EmbeddingsFile;
  try {
    file = await openEmbeddings(resolve(filePath));
  } catch (err) {
    if (err instanceof EmbeddingsFileError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
  const query = await readQuery(file, queryArg);
  const top = await nearestNeighbours(file, query.embedding, k, {
    exclude: query.kind === 'row' ? query.index : undefined,
  });
  const sheet = values.out ? resolve(values.out) : undefined;
  if (sheet) await writeSheet(file, query, top, sheet);
  out.document({
    file: file.path,
    query:
      query.kind === 'row'
        ? { row: query.index, name: query.name, label: query.label }
        : { image: query.path },
    k,
    neighbours: top.map((n) => ({ ...n, className: className(file, n.label) || null })),
    sheet: sheet ?? null,
  });
  out.line(`${top.length} nearest neighbours of ${describeQuery(file, query)} (cosine similarity)`);
  out.line(
    table(
      ['RANK', 'INDEX', 'NAME', 'LABEL', 'SIMILARITY'],
      top.map((n, i) => [
        String(i + 1),
        String(n.index),
        n.name,
        className(file, n.label),
        n.similarity.toFixed(4),
      ]),
      ['right', 'right', 'left', 'left', 'right'],
    ),
  );
  if (sheet) out.line(`contact sheet: ${sheet}`);
  return EXIT_OK;
}

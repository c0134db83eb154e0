/**
 * `simclr embed <run|exported-model> <source> --out FILE`: starts the `embed` workflow (workflows/embed.ts)
 * on the source's shards, shows its progress, and copies the file it wrote in the store to FILE (Parquet,
 * or .npy with a .csv of names and labels and a .json of metadata beside it: simclr/embeddings-file.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WorkflowFailedError } from '@temporalio/client';
import {
  CPU_QUEUE,
  EMBED_SPLITS,
  EMBEDDING_FORMATS,
  type EmbeddingFormat,
  type EmbedInput,
  type EmbedProgress,
  type EmbedResult,
  type EmbedSplits,
} from '../../contracts';
import { webUiUrl } from '../../infra/temporal-connection';
import { embeddingsFiles, formatOfPath } from '../../simclr/embeddings-file';
import { embed, embedLine, embedProgressQuery } from '../../workflows/embed';
import {
  COMMON_OPTIONS,
  parseCommand,
  positionals,
  positiveIntFlag,
  TEMPORAL_OPTIONS,
  TEMPORAL_USAGE,
} from '../args';
import { compactTimestamp, formatDuration } from '../format';
import { experimentStore, sessionFor, startEmbeddedWorkers } from '../launch';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Output } from '../output';
import { activityStates, failureMessage, type ActivityState } from '../snapshot';
import { onInterrupt } from '../worker-runtime';
import { EXPERIMENT_ID } from './run';

export const usage = `usage: simclr embed <run|exported-model> <source> --out FILE [--format parquet|npy] [options]

  <run|exported-model>  a run id (its newest checkpoint in the store), a checkpoint key or folder, or the
                        folder 'simclr export --out' wrote
  <source>              a dataset source: an image folder, IDX files, CIFAR-10 batches, or s3://bucket/prefix
  --out FILE            where to write the embeddings: FILE.parquet, or FILE.npy (+ FILE.csv of index,
                        split, name, label and FILE.json of metadata beside it)
  --format F            parquet or npy (default: from the extension of --out, else parquet)
  --split S             all (default; train rows, then test), train or test
  --concurrency N       shards sharded and embedded at once (default 4)
  --batch-size N        images per forward pass (default 256)
  --id ID               workflow id (default embed-<YYYYMMDD-HHMMSS>, UTC)
  --embedded            run the cpu and gpu workers in this process (and the local Temporal dev server
                        without --address / TEMPORAL_ADDRESS), as 'simclr run --embedded'
${TEMPORAL_USAGE}

The file is written into the store (embeddings/<id>/files/) by a worker and copied to --out from there.
Embedding the same dataset with the same model again reuses the shards and the embedded parts.`;

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_BATCH_SIZE = 256;

/** The format asked for, checked against the extension of --out (the reader goes by the extension). */
export function outputFormat(out: string, flag: string | undefined): EmbeddingFormat {
  if (flag !== undefined && !(EMBEDDING_FORMATS as readonly string[]).includes(flag))
    throw new CliError(`--format must be one of ${EMBEDDING_FORMATS.join(', ')}, got '${flag}'`, EXIT_USAGE);
  const fromPath = formatOfPath(out);
  const format = (flag as EmbeddingFormat | undefined) ?? fromPath ?? 'parquet';
  if (fromPath !== format)
    throw new CliError(`--out '${out}' must end in .${format} for --format ${format}`, EXIT_USAGE);
  return format;
}

/**
 * The model argument: an existing folder (an export or a checkpoint folder) made absolute, else a run id
 * or a checkpoint key in the store, passed on as is (the workflow's planEmbedding resolves it with
 * simclr/encoder-source.ts and names what it looked for when it finds nothing).
 */
export function modelArgument(arg: string): string {
  if (existsSync(arg)) {
    if (!statSync(arg).isDirectory())
      throw new CliError(
        `model '${arg}' is a file; give a run id or the folder of an exported model`,
        EXIT_USAGE,
      );
    return resolve(arg);
  }
  if (/^[./~]/.test(arg)) throw new CliError(`model '${arg}': no such folder`, EXIT_USAGE);
  return arg;
}

/** The source argument: s3:// as given, a local path made absolute (it must exist). */
export function sourceArgument(arg: string): string {
  if (/^s3:\/\//.test(arg)) return arg;
  if (!existsSync(arg)) throw new CliError(`source '${arg}' does not exist`, EXIT_USAGE);
  return resolve(arg);
}

/**
 * The images the running embedShard activities have done so far (from their heartbeats: the workflow
 * sees a shard only when it completes) and the retries among them, for the progress line.
 */
export function inFlight(activities: ActivityState[]): { images: number; retries: string[] } {
  let images = 0;
  const retries: string[] = [];
  for (const a of activities) {
    if (a.activity !== 'embedShard') continue;
    const beat = a.details as { progress?: { done?: number } } | undefined;
    images += beat?.progress?.done ?? 0;
    if (a.lastFailure) retries.push(`attempt ${a.attempt} after: ${a.lastFailure}`);
  }
  return { images, retries };
}

/** Draws the progress on stderr: one line redrawn on a terminal, a line every few seconds otherwise. */
function progressPrinter(out: Output): {
  draw(p: EmbedProgress, running: ActivityState[]): void;
  end(): void;
} {
  const tty = process.stderr.isTTY && !out.json;
  let last = '';
  let lastAt = 0;
  const said = new Set<string>();
  return {
    draw(p, running) {
      const now = inFlight(running);
      const shown = { ...p, images: { ...p.images, done: p.images.done + now.images } };
      const line = `${p.stage}${p.stage === 'embed' ? `  ${embedLine(shown, Date.now())}` : ''}`;
      for (const r of now.retries.filter((r) => !said.has(r))) {
        said.add(r);
        if (tty) process.stderr.write('\n');
        out.note(`  ! embedShard ${r}`);
      }
      if (tty) process.stderr.write(`\r\x1b[2K${line}`);
      else if (line !== last && (Date.now() - lastAt > 5000 || p.stage !== 'embed')) {
        out.note(line);
        lastAt = Date.now();
      }
      last = line;
    },
    end() {
      if (tty && last) process.stderr.write('\n');
    },
  };
}

/** Copies the workflow's files from the store to --out (and the npy's companions beside it). */
async function download(result: EmbedResult, outPath: string): Promise<string[]> {
  // The store named in the result, opened with this process's env (credentials never travel in history).
  const { openStore } = require('../../storage/open') as typeof import('../../storage/open');
  const store = await openStore(result.storeLocation);
  const targets = embeddingsFiles(outPath, result.format);
  await mkdir(dirname(outPath), { recursive: true });
  for (const [i, key] of result.keys.entries())
    await pipeline(await store.getStream(key), createWriteStream(targets[i]));
  return targets;
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    {
      ...COMMON_OPTIONS,
      ...TEMPORAL_OPTIONS,
      out: { type: 'string' },
      format: { type: 'string' },
      split: { type: 'string' },
      concurrency: { type: 'string' },
      'batch-size': { type: 'string' },
      id: { type: 'string' },
      embedded: { type: 'boolean' },
    },
    usage,
  );
  const [modelArg, sourceArg] = positionals(pos, ['run|exported-model', 'source'], usage);
  if (!values.out) throw new CliError(`missing --out FILE\n\n${usage}`, EXIT_USAGE);
  const outPath = resolve(values.out);
  const format = outputFormat(outPath, values.format);
  const splits = (values.split ?? 'all') as EmbedSplits;
  if (!EMBED_SPLITS.includes(splits))
    throw new CliError(
      `--split must be one of ${EMBED_SPLITS.join(', ')}, got '${values.split}'`,
      EXIT_USAGE,
    );
  const id = values.id ?? `embed-${compactTimestamp(new Date())}`;
  if (!EXPERIMENT_ID.test(id))
    throw new CliError(`--id '${id}': letters, digits, '.', '_' and '-' only`, EXIT_USAGE);
  const input: EmbedInput = {
    embedRunId: id,
    model: modelArgument(modelArg),
    source: sourceArgument(sourceArg),
    splits,
    format,
    concurrency: positiveIntFlag(values.concurrency, 'concurrency', DEFAULT_CONCURRENCY),
    batchSize: positiveIntFlag(values['batch-size'], 'batch-size', DEFAULT_BATCH_SIZE),
  };
  const embedded = values.embedded ?? false;
  const session = await sessionFor(values, embedded, out);
  const workers = embedded
    ? await startEmbeddedWorkers(session.target, { logName: id, backend: 'auto' }, out)
    : undefined;
  const started = Date.now();
  try {
    const store = await experimentStore(out);
    const handle = await session.client.workflow.start(embed, {
      workflowId: id,
      taskQueue: CPU_QUEUE,
      args: [store ? { ...input, store } : input],
      staticSummary: `embed ${modelArg} on ${sourceArg} → ${format}`,
      staticDetails: `model: ${input.model}\n\nsource: ${input.source} (${splits})\n\nout: ${outPath}`,
    });
    const link = webUiUrl(session.target, id, handle.firstExecutionRunId);
    out.note(`started embed ${id}${link ? `  ${link}` : ''}`);
    const printer = progressPrinter(out);
    let stopped = false;
    const removeHandlers = onInterrupt(() => (stopped = true), out.note.bind(out));
    const result = handle.result() as Promise<EmbedResult>;
    let finished = false;
    result.then(
      () => (finished = true),
      () => (finished = true),
    );
    try {
      while (!finished && !stopped) {
        const [p, d] = await Promise.all([
          handle.query(embedProgressQuery).catch(() => undefined),
          handle.describe().catch(() => undefined),
        ]);
        if (p) printer.draw(p, activityStates(d?.raw.pendingActivities));
        await new Promise((r) => setTimeout(r, process.stderr.isTTY ? 500 : 1000));
      }
    } finally {
      printer.end();
      removeHandlers();
    }
    if (stopped && !finished) {
      out.note(
        `stopped following; embed ${id} goes on in Temporal (its parts are kept: a rerun reuses them)`,
      );
      return 130;
    }
    let r: EmbedResult;
    try {
      r = await result;
    } catch (err) {
      const msg = failureMessage(err instanceof WorkflowFailedError ? err : err);
      if (out.json) out.document({ error: `embed ${id} failed: ${msg}`, embedRunId: id });
      else out.line(`✗ embed ${id} failed: ${msg}`);
      return EXIT_FAILURE;
    }
    const files = await download(r, outPath);
    const seconds = (Date.now() - started) / 1000;
    out.document({ embedRunId: id, out: files, seconds, imagesPerSecondWall: r.rows / seconds, ...r });
    out.line(
      `✓ embedded ${r.rows} images (${r.dim} floats each) with ${r.modelDescription} in ${formatDuration(seconds)}`,
    );
    out.line(
      `  shards  ${r.shards.total} (${r.shards.computed} computed, ${r.shards.reused} reused)` +
        (r.imagesPerSecond ? ` · encoder ${Math.round(r.imagesPerSecond)} images/s` : ''),
    );
    for (const f of files) out.line(`  file    ${f}`);
    if (link) out.line(`  web UI  ${link}`);
    return EXIT_OK;
  } finally {
    await workers?.shutdown();
    await session.close();
  }
}

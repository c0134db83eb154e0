/**
 * Following a run to its end (`run`, `resume`, `watch`): the live view on stderr until the run closes,
 * then its results (or its failure) on stdout. Ctrl-C stops following, never the run: it is durable in
 * Temporal and goes on wherever workers run.
 */
import type { Client } from '@temporalio/client';
import type { TemporalTarget } from '../infra/temporal-connection';
import { formatDuration } from './format';
import { watchRun } from './live-view';
import { EXIT_FAILURE, EXIT_OK, type Output } from './output';
import { reportLocation, resultLines } from './results';
import type { RunSnapshot } from './snapshot';
import { onInterrupt } from './worker-runtime';

/** Exit code of a command interrupted by the user (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export interface FollowOptions {
  /** Said when the user stops following (what happens to the run now). */
  interruptNote?: string;
  /** Called on the first Ctrl-C (e.g. to drain the in-process workers). */
  onInterrupt?: () => void;
}

/** The JSON document of a run's end. */
export function endDocument(snap: RunSnapshot): Record<string, unknown> {
  return {
    experimentId: snap.experimentId,
    runId: snap.runId,
    status: snap.status,
    stage: snap.stage ?? null,
    webUiUrl: snap.webUiUrl ?? null,
    startTime: snap.startTime,
    closeTime: snap.closeTime ?? null,
    totalSeconds: snap.elapsedSeconds,
    ...(snap.results ? { report: reportLocation(snap.results), results: snap.results } : {}),
    ...(snap.failure ? { failure: snap.failure } : {}),
  };
}

/** Prints the end of a closed run; the exit code says whether it completed. */
export function printEnd(snap: RunSnapshot, out: Output): number {
  if (snap.status === 'COMPLETED' && snap.results) {
    out.document(endDocument(snap));
    out.line(`✓ experiment ${snap.experimentId} completed in ${formatDuration(snap.elapsedSeconds)}`);
    out.line('');
    for (const l of resultLines(snap.results, { webUiUrl: snap.webUiUrl, totalSeconds: snap.elapsedSeconds }))
      out.line(l);
    return EXIT_OK;
  }
  const what = `experiment ${snap.experimentId} ${snap.status.toLowerCase()}${snap.failure ? `: ${snap.failure}` : ''}`;
  if (out.json) out.document({ error: what, ...endDocument(snap) });
  else {
    out.line(`✗ ${what}`);
    if (snap.webUiUrl) out.line(`  web UI  ${snap.webUiUrl}`);
    if (/\b(ConfigError|DatasetError)\b/.test(snap.failure ?? '')) {
      out.line(
        '  the experiment file or its dataset is at fault: retrying cannot help; fix it and start a new run',
      );
    } else out.line(`  resume from the last checkpoint with: simclr resume ${snap.experimentId}`);
  }
  return EXIT_FAILURE;
}

/** Watches run `id` until it closes, then prints its end; Ctrl-C stops following (exit 130). */
export async function followToEnd(
  client: Client,
  target: TemporalTarget,
  id: string,
  out: Output,
  opts: FollowOptions = {},
): Promise<number> {
  const stop = new AbortController();
  const removeHandlers = onInterrupt(() => {
    stop.abort();
    opts.onInterrupt?.();
  }, out.note.bind(out));
  let snap: RunSnapshot;
  try {
    snap = await watchRun(client, target, id, { signal: stop.signal });
  } finally {
    removeHandlers();
  }
  if (!snap.closed) {
    const note =
      opts.interruptNote ??
      `stopped watching; experiment ${id} goes on (watch again: simclr watch ${id}; stop it: simclr cancel ${id})`;
    if (out.json) out.document({ error: 'interrupted', ...endDocument(snap), note });
    out.note(note);
    return EXIT_INTERRUPTED;
  }
  return printEnd(snap, out);
}

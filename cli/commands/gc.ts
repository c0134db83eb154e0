/**
 * `simclr gc [--dry-run] [--json]`: removes what no run needs any more (cli/orphans.ts says what that
 * is): views of closed runs, checkpoints of closed runs beyond their retention, interrupted writes and
 * unused S3 source mirrors. Temporal is asked which runs are open, and nothing of theirs is touched;
 * gc refuses to run when Temporal cannot answer.
 */
import { join } from 'node:path';
import { defaultStoreRoot, simclrHome } from '../../infra/paths';
import { openStore } from '../../storage/open';
import {
  COMMON_OPTIONS,
  parseCommand,
  positionals,
  positiveIntFlag,
  TEMPORAL_OPTIONS,
  TEMPORAL_USAGE,
} from '../args';
import { connectTemporal, resolveTarget } from '../connect';
import { table } from '../format';
import { openRuns } from '../open-runs';
import { findOrphans, type Orphan } from '../orphans';
import { CliError, EXIT_OK, EXIT_USAGE, type Output } from '../output';

export const usage = `usage: simclr gc [--dry-run] [--min-age-minutes N] [--store URI] [--json]

  Removes the views of closed runs, the checkpoints of closed runs beyond their retention
  (pretrain.checkpointRetention), interrupted writes (.blob-tmp-* files) and this machine's S3 source
  mirrors no open run reads. Nothing of a run Temporal reports open is touched.

  --dry-run             list what would be removed, remove nothing
  --min-age-minutes N   keep interrupted writes, uncommitted checkpoints and mirrors younger than this
                        (default 60: a write in progress is never older)
  --store URI           the store (default $SIMCLR_STORE, else the filesystem store under $SIMCLR_HOME)
${TEMPORAL_USAGE}`;

/** 1536 → '1.5 KiB'. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    {
      ...COMMON_OPTIONS,
      ...TEMPORAL_OPTIONS,
      'dry-run': { type: 'boolean' },
      'min-age-minutes': { type: 'string' },
      store: { type: 'string' },
    },
    usage,
  );
  positionals(pos, [], usage);
  const dryRun = values['dry-run'] ?? false;
  const minAgeMinutes = positiveIntFlag(values['min-age-minutes'], 'min-age-minutes', 60);
  const uri = values.store ?? process.env.SIMCLR_STORE ?? `file://${defaultStoreRoot()}`;
  let store;
  try {
    store = await openStore(uri);
  } catch (err) {
    throw new CliError(`store: ${(err as Error).message}`, EXIT_USAGE);
  }
  const session = await connectTemporal(resolveTarget(values));
  try {
    const plan = await findOrphans(store, {
      openRuns: () => openRuns(session.client),
      minAgeMs: minAgeMinutes * 60_000,
      mirrorDir: join(simclrHome(), 'cache', 'sources'),
      progress: (line) => out.note(line),
    });
    const removed: Orphan[] = [];
    if (!dryRun) {
      let done = 0;
      let last = Date.now();
      for (const o of plan.orphans) {
        await plan.remove(o);
        removed.push(o);
        if (Date.now() - last >= 1000) {
          last = Date.now();
          out.note(`gc: removed ${++done} of ${plan.orphans.length}`);
        } else done++;
      }
    }
    const totalBytes = plan.orphans.reduce((a, o) => a + o.bytes, 0);
    out.document({
      dryRun,
      store: store.location,
      namespace: session.target.namespace,
      orphans: plan.orphans,
      removed: removed.length,
      totalBytes,
      kept: plan.kept,
    });
    if (plan.orphans.length > 0)
      out.line(
        table(
          ['KIND', 'SIZE', 'WHAT', 'WHY'],
          plan.orphans.map((o) => [o.kind, formatBytes(o.bytes), o.location, o.reason]),
          ['left', 'right', 'left', 'left'],
        ),
      );
    for (const k of plan.kept) out.line(`kept: ${k}`);
    const verb = dryRun ? 'would remove' : 'removed';
    out.line(
      `${verb} ${plan.orphans.length} item(s), ${formatBytes(totalBytes)} in total, from ${store.location}` +
        (dryRun && plan.orphans.length > 0 ? ' (run without --dry-run to remove them)' : ''),
    );
    return EXIT_OK;
  } finally {
    await session.close();
  }
}

/**
 * `simclr models <schedule>`: the promotion decisions of a schedule's runs, oldest first, and its
 * current model, read from the store (models/<schedule>/, storage/layout.ts). A run's encoder is
 * promoted when its linear top-1 is not worse than the current model's by more than the schedule's
 * tolerance (activities/retrain.ts); a refusal is listed with its reason.
 */
import { storeUriFromEnv } from '../../infra/paths';
import { openStore } from '../../storage/open';
import { redact } from '../../storage/redact';
import { readCurrentModel, readPromotions } from '../../storage/schedule-records';
import { COMMON_OPTIONS, parseCommand, positionals } from '../args';
import { formatTimestamp, percent, table } from '../format';
import { CliError, EXIT_OK, type Output } from '../output';
import { checkScheduleName } from '../schedule-options';

export const usage = `usage: simclr models <schedule> [--json]

  The promotions (and refusals) of the schedule's encoders, and its current model, from the store
  ($SIMCLR_STORE, default the filesystem under $SIMCLR_HOME).
  --json                print exactly one JSON document on stdout`;

export async function run(argv: string[], out: Output): Promise<number> {
  const { positionals: pos } = parseCommand(argv, { ...COMMON_OPTIONS }, usage);
  const [schedule] = positionals(pos, ['schedule'], usage);
  checkScheduleName(schedule);
  const uri = storeUriFromEnv();
  const store = await openStore(uri).catch((err: Error) => {
    throw new CliError(`cannot open the store ${redact(uri)}: ${err.message}`);
  });
  const [promotions, current] = await Promise.all([
    readPromotions(store, schedule),
    readCurrentModel(store, schedule),
  ]);
  out.document({ schedule, current: current ?? null, promotions });
  if (promotions.length === 0) {
    out.line(
      `no promotions for schedule '${schedule}' in ${store.location} yet (its first completed run is promoted)`,
    );
    return EXIT_OK;
  }
  out.line(
    table(
      ['DECIDED', 'EXPERIMENT', 'LINEAR TOP-1', 'CHANGE', 'DECISION'],
      promotions.map((p) => [
        formatTimestamp(new Date(p.decidedAt)),
        p.experimentId,
        percent(p.linearTop1, 2),
        p.deltaPoints === undefined
          ? 'first'
          : `${p.deltaPoints >= 0 ? '+' : ''}${p.deltaPoints.toFixed(2)} pts`,
        p.promoted ? 'promoted' : `refused (tolerance ${p.tolerancePoints} pts)`,
      ]),
      ['left', 'left', 'right', 'right', 'left'],
    ),
  );
  if (current)
    out.line(
      `current model: ${current.experimentId} (${percent(current.linearTop1, 2)}), ${current.checkpoint}`,
    );
  return EXIT_OK;
}

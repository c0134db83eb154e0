/** `simclr report <id>`: where a completed experiment's report is, and its results in short. */
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { connectTemporal, resolveTarget } from '../connect';
import { CliError, EXIT_OK, type Output } from '../output';
import { reportLocation, resultLines } from '../results';
import { takeSnapshot } from '../snapshot';

export const usage = `usage: simclr report <id> [--json]

${TEMPORAL_USAGE}`;

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(argv, { ...COMMON_OPTIONS, ...TEMPORAL_OPTIONS }, usage);
  const [id] = positionals(pos, ['id'], usage);
  const session = await connectTemporal(resolveTarget(values));
  try {
    const snap = await takeSnapshot(session.client, session.target, id);
    const r = snap.results;
    if (!r) {
      const where = snap.closed ? `${snap.status.toLowerCase()}${snap.failure ? `: ${snap.failure}` : ''}` : `still running (stage ${snap.stage ?? 'unknown'})`;
      throw new CliError(`experiment '${id}' has no report: it is ${where}`);
    }
    const report = reportLocation(r);
    out.document({
      experimentId: id,
      runId: snap.runId,
      report,
      reportJson: reportLocation({ storeLocation: r.storeLocation, reportHtmlKey: r.reportKey }),
      webUiUrl: snap.webUiUrl ?? null,
      totalSeconds: snap.elapsedSeconds,
      results: r,
    });
    out.line(report);
    out.line('');
    for (const l of resultLines(r, { webUiUrl: snap.webUiUrl, totalSeconds: snap.elapsedSeconds })) out.line(l);
    return EXIT_OK;
  } finally {
    await session.close();
  }
}

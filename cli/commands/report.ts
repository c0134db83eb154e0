/** `simclr report <id>`: where a completed experiment's report is, and its results in short. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TEMPORAL_USAGE } from '../args';
import { withExperiment } from '../connect';
import { CliError, EXIT_OK, type Output } from '../output';
import { reportLocation, resultLines } from '../results';
import { takeSnapshot } from '../snapshot';

export const usage = `usage: simclr report <id> [--save FILE] [--json]

  --save FILE           copy the self-contained report.html out of the store (e.g. from MinIO) to FILE
${TEMPORAL_USAGE}`;

export async function run(argv: string[], out: Output): Promise<number> {
  return withExperiment(argv, usage, { save: { type: 'string' } }, async (session, id, values) => {
    const snap = await takeSnapshot(session.client, session.target, id);
    const r = snap.results;
    if (!r) {
      const where = snap.closed
        ? `${snap.status.toLowerCase()}${snap.failure ? `: ${snap.failure}` : ''}`
        : `still running (stage ${snap.stage ?? 'unknown'})`;
      throw new CliError(`experiment '${id}' has no report: it is ${where}`);
    }
    let report = reportLocation(r);
    if (values.save) {
      // The store named in the results, opened with this process's env (credentials never travel in history).
      const { openStore } = require('../../storage/open') as typeof import('../../storage/open');
      const store = await openStore(r.storeLocation);
      const file = resolve(values.save);
      await writeFile(file, await store.get(r.reportHtmlKey));
      report = pathToFileURL(file).href;
    }
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
    for (const l of resultLines(r, { webUiUrl: snap.webUiUrl, totalSeconds: snap.elapsedSeconds }))
      out.line(l);
    return EXIT_OK;
  });
}

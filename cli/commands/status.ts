/**
 * `simclr status <id>`: where a run is (stage, step-level pretraining progress, retries) or, once
 * closed, its results or its failure.
 */
import { TEMPORAL_USAGE } from '../args';
import { withExperiment } from '../connect';
import { endDocument } from '../follow';
import { renderFrame } from '../live-view';
import { EXIT_OK, type Output } from '../output';
import { resultLines } from '../results';
import { takeSnapshot } from '../snapshot';

export const usage = `usage: simclr status <id> [--json]

${TEMPORAL_USAGE}`;

export async function run(argv: string[], out: Output): Promise<number> {
  return withExperiment(argv, usage, {}, async (session, id) => {
    const snap = await takeSnapshot(session.client, session.target, id);
    out.document({
      ...endDocument(snap),
      progress: snap.progress ?? null,
      pretrain: snap.pretrain ?? null,
      pendingActivities: snap.activities,
      noWorker: snap.noWorker,
    });
    for (const l of renderFrame(snap)) out.line(l);
    if (snap.results) {
      out.line('');
      for (const l of resultLines(snap.results, {
        webUiUrl: snap.webUiUrl,
        totalSeconds: snap.elapsedSeconds,
      }))
        out.line(l);
    } else if (snap.webUiUrl) out.line(`  web UI  ${snap.webUiUrl}`);
    return EXIT_OK;
  });
}

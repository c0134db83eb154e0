/**
 * Where an experiment's report artifacts live in the store, in one place:
 *
 * ```
 * experiments/<id>/metrics/<chunk>.jsonl   metric records, one chunk per activity call (see ./metrics.ts)
 * experiments/<id>/metrics.jsonl           all chunks merged and sorted, written at report time
 * experiments/<id>/report.json             the RunReport (./report.ts)
 * experiments/<id>/report.html             self-contained HTML (./html.ts)
 * experiments/<id>/charts/<name>.png       the charts embedded in the HTML (./charts.ts)
 * experiments/<id>/tensorboard/...         TensorBoard event files (./tensorboard.ts; uploaded by the caller)
 * ```
 */
import { joinKey, validateKey } from '../storage/keys';

/** The key prefix of one experiment (`experiments/<id>`); the id must be a single key segment. */
export function experimentPrefix(experimentId: string): string {
  if (typeof experimentId !== 'string' || experimentId === '' || experimentId.includes('/')) {
    throw new Error(`experiment id '${String(experimentId)}' must be a non-empty key segment without '/'`);
  }
  return validateKey(joinKey('experiments', experimentId));
}

/** A key inside the experiment's prefix: experimentKey('e1', 'charts', 'loss.png') = 'experiments/e1/charts/loss.png'. */
export function experimentKey(experimentId: string, ...parts: string[]): string {
  return validateKey(joinKey(experimentPrefix(experimentId), ...parts));
}

/** The fixed keys of the report of one experiment. */
export function reportKeys(experimentId: string) {
  return {
    metricsChunks: `${experimentPrefix(experimentId)}/metrics/`,
    metricsJsonl: experimentKey(experimentId, 'metrics.jsonl'),
    reportJson: experimentKey(experimentId, 'report.json'),
    reportHtml: experimentKey(experimentId, 'report.html'),
    charts: `${experimentPrefix(experimentId)}/charts/`,
    tensorboard: `${experimentPrefix(experimentId)}/tensorboard/`,
  };
}

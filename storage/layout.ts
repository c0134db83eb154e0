/**
 * Key prefixes of the store, by what lives there. The sweep's live here; an experiment's report keys
 * are in report/keys.ts (experiments/<id>/…) and the pipeline's data keys next to their activities
 * (datasets/, augment/), to be gathered here as they are touched.
 *
 * ```
 * sweeps/<sweepId>/report.json         the SweepReport (report/sweep-report.ts), written last
 * sweeps/<sweepId>/report.html         self-contained comparison of the variants
 * sweeps/<sweepId>/charts/<name>.png   the charts embedded in the HTML
 * ```
 * Each variant is an experiment of its own: experiments/<sweepId>.<variant>/ (workflows/sweep-types.ts).
 */
import { joinKey, validateKey } from './keys';

/** The key prefix of one sweep (`sweeps/<id>`); the id must be a single key segment. */
export function sweepPrefix(sweepId: string): string {
  if (typeof sweepId !== 'string' || sweepId === '' || sweepId.includes('/'))
    throw new Error(`sweep id '${String(sweepId)}' must be a non-empty key segment without '/'`);
  return validateKey(joinKey('sweeps', sweepId));
}

/** The fixed keys of a sweep's report. */
export function sweepKeys(sweepId: string) {
  const prefix = sweepPrefix(sweepId);
  return {
    reportJson: validateKey(`${prefix}/report.json`),
    reportHtml: validateKey(`${prefix}/report.html`),
    chart: (name: string) => validateKey(`${prefix}/charts/${name}.png`),
  };
}

/**
 * The end of a run as people read it: linear evaluation and kNN of the pretrained encoder beside the
 * random-init baseline (the paper's reference point: how much of the accuracy the self-supervised
 * pretraining is responsible for), fine-tuning per label fraction, then every baseline with a plain
 * verdict (did SimCLR beat raw pixels, the supervised upper bound, training from scratch?), and where
 * to look next (web UI, report).
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareWithBaselines, fractionLabel, type ComparableResults } from '../report/comparisons';
import type { ExperimentResults } from '../contracts';
import { formatDuration, percent, table } from './format';

export { fractionLabel };

/**
 * Where the HTML report is: `<store location>/<reportHtmlKey>`; a filesystem store given as a plain path
 * becomes a file:// URL, so terminals make it clickable.
 */
export function reportLocation(results: Pick<ExperimentResults, 'storeLocation' | 'reportHtmlKey'>): string {
  const location = results.storeLocation.replace(/\/+$/, '');
  if (isAbsolute(location)) return pathToFileURL(`${location}/${results.reportHtmlKey}`).href;
  return `${location}/${results.reportHtmlKey}`;
}

/** The results table: one row per evaluation, top-1 and top-5, the random-init baseline beside them. */
export function resultsTable(r: ExperimentResults): string {
  const b = r.baseline;
  const rows: string[][] = [
    [
      'linear evaluation',
      percent(r.pretrained.linear.top1),
      percent(r.pretrained.linear.top5),
      percent(b?.linear.top1),
      percent(b?.linear.top5),
    ],
    [
      `kNN (k=${r.pretrained.knn.k})`,
      percent(r.pretrained.knn.top1),
      percent(r.pretrained.knn.top5),
      percent(b?.knn.top1),
      percent(b?.knn.top5),
    ],
    ...r.fineTune.map((f) => [
      `fine-tune ${fractionLabel(f.fraction)} (${f.labelledImages} labels)`,
      percent(f.top1),
      percent(f.top5),
      '',
      '',
    ]),
  ];
  return table(['', 'TOP-1', 'TOP-5', 'RANDOM-INIT TOP-1', 'TOP-5'], rows, [
    'left',
    'right',
    'right',
    'right',
    'right',
  ]);
}

/** The workflow's results in the shape the comparisons read. */
export function comparableResults(r: ExperimentResults): ComparableResults {
  return {
    linear: r.pretrained.linear,
    knn: r.pretrained.knn,
    fineTune: r.fineTune,
    randomInit: r.baseline,
    pixels: r.baselines?.pixels,
    supervised: r.baselines?.supervised,
    scratchFineTune: r.baselines?.scratchFineTune,
  };
}

/**
 * Every SimCLR-vs-baseline pair, top-1, with the margin and whether SimCLR beat it; undefined when the
 * run has no baseline at all.
 *
 * @example
 *   SIMCLR VS BASELINE (TOP-1)                       SIMCLR  BASELINE  MARGIN
 *   linear evaluation vs raw pixels                  78.4 %    81.5 %  −3.1 pts ✗ behind
 */
export function baselinesTable(r: ExperimentResults): string | undefined {
  const rows = compareWithBaselines(comparableResults(r)).map((c) => [
    `${c.evaluation} vs ${c.baseline}${c.upperBound ? ' (upper bound)' : ''}`,
    percent(c.simclr.top1),
    percent(c.other.top1),
    c.text,
  ]);
  if (rows.length === 0) return undefined;
  return table(['SIMCLR VS BASELINE (TOP-1)', 'SIMCLR', 'BASELINE', 'MARGIN'], rows, [
    'left',
    'right',
    'right',
    'left',
  ]);
}

/** The closing summary of a completed run. */
export function resultLines(
  r: ExperimentResults,
  opts: { webUiUrl?: string; totalSeconds?: number },
): string[] {
  const verdicts = baselinesTable(r);
  return [
    ...resultsTable(r)
      .split('\n')
      .map((l) => `  ${l}`),
    '',
    ...(verdicts ? [...verdicts.split('\n').map((l) => `  ${l}`), ''] : []),
    ...(opts.webUiUrl ? [`  web UI  ${opts.webUiUrl}`] : []),
    `  report  ${reportLocation(r)}`,
    ...(opts.totalSeconds !== undefined ? [`  total   ${formatDuration(opts.totalSeconds)}`] : []),
  ];
}

/**
 * The end of a run as people read it: linear evaluation and kNN of the pretrained encoder beside the
 * random-init baseline (the paper's reference point: how much of the accuracy the self-supervised
 * pretraining is responsible for), fine-tuning per label fraction, and where to look next (web UI, report).
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExperimentResults } from '../workflows/types';
import { formatDuration, percent, table } from './format';

/**
 * Where the HTML report is: `<store location>/<reportHtmlKey>`; a filesystem store given as a plain path
 * becomes a file:// URL, so terminals make it clickable.
 */
export function reportLocation(results: Pick<ExperimentResults, 'storeLocation' | 'reportHtmlKey'>): string {
  const location = results.storeLocation.replace(/\/+$/, '');
  if (isAbsolute(location)) return pathToFileURL(`${location}/${results.reportHtmlKey}`).href;
  return `${location}/${results.reportHtmlKey}`;
}

/** A label fraction as people write it: 0.01 → '1 %', 0.005 → '0.5 %'. */
export function fractionLabel(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))} %`;
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

/** The closing summary of a completed run. */
export function resultLines(
  r: ExperimentResults,
  opts: { webUiUrl?: string; totalSeconds?: number },
): string[] {
  return [
    ...resultsTable(r)
      .split('\n')
      .map((l) => `  ${l}`),
    '',
    ...(opts.webUiUrl ? [`  web UI  ${opts.webUiUrl}`] : []),
    `  report  ${reportLocation(r)}`,
    ...(opts.totalSeconds !== undefined ? [`  total   ${formatDuration(opts.totalSeconds)}`] : []),
  ];
}

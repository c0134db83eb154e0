/**
 * A sweep as the terminal shows it: one line per variant (state, linear and kNN top-1) and the
 * paper's expectations with their verdicts. Pure, so the tests check the text.
 */
import { METRIC_LABELS, type ExpectationResult } from '../config/sweep-expectation';
import type { SweepProgress, SweepVariantProgress } from '../contracts/sweep';
import { percent, table } from './format';
import { stageLine } from './live-view';
import type { RunSnapshot } from './snapshot';

const STATE_LABEL: Record<SweepVariantProgress['state'], string> = {
  pending: 'pending',
  running: 'running',
  completed: 'completed',
  skipped: 'done earlier',
  failed: 'FAILED',
};

/** The variants table: VARIANT STATE LINEAR KNN EXPERIMENT. */
export function variantTable(variants: readonly SweepVariantProgress[]): string {
  return table(
    ['VARIANT', 'STATE', 'LINEAR TOP-1', 'KNN TOP-1', 'WORKFLOW'],
    variants.map((v) => [
      v.name,
      STATE_LABEL[v.state],
      percent(v.linearTop1),
      percent(v.knnTop1),
      v.workflowId,
    ]),
    ['left', 'left', 'right', 'right', 'left'],
  );
}

/** One line per expectation: '✓ linear top-1: both > crop-only (+3.1 pp)'. */
export function expectationLines(results: readonly ExpectationResult[]): string[] {
  return results.map((x) => {
    const mark = x.verdict === 'matches' ? '✓' : x.verdict === 'does not match' ? '✗' : '?';
    const diffs = x.comparisons
      .filter((c) => c.difference !== undefined)
      .map((c) => `${c.difference! >= 0 ? '+' : '−'}${Math.abs(c.difference! * 100).toFixed(1)} pp`)
      .join(', ');
    return `${mark} ${METRIC_LABELS[x.metric]}: ${x.holds} — ${x.verdict}${diffs ? ` (${diffs})` : ''}`;
  });
}

/** The state change of one variant between two polls, as a note line (undefined when unchanged). */
export function variantChange(
  before: SweepVariantProgress | undefined,
  now: SweepVariantProgress,
): string | undefined {
  if (before?.state === now.state) return undefined;
  const result =
    now.linearTop1 !== undefined ? `: linear ${percent(now.linearTop1)}, kNN ${percent(now.knnTop1)}` : '';
  const error = now.error ? `: ${now.error}` : '';
  return `  ${now.name} ${STATE_LABEL[now.state]}${result}${error}`;
}

/**
 * A running variant's progress, from a snapshot of its experiment (the line `simclr run` repeats in a
 * log): '  tau-0.1  pretrain 40.0 %  epoch 6/15  step 120/234  loss 4.1234  kNN top-1 80.1 %  …'.
 */
export function variantProgressLine(name: string, snapshot: RunSnapshot): string | undefined {
  if (snapshot.closed) return undefined;
  return `  ${name}  ${stageLine(snapshot)}`;
}

/** The lines of `simclr sweep status`. */
export function progressLines(p: SweepProgress): string[] {
  return [
    `sweep ${p.sweepId} (${p.name}): ${p.stage}, at most ${p.maxParallel} at a time`,
    '',
    ...variantTable(p.variants).split('\n'),
    ...(p.results ? ['', ...expectationLines(p.results.expectations)] : []),
    ...(p.error ? ['', `error: ${p.error}`] : []),
  ];
}

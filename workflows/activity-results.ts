/**
 * Checks on what activities return, before a workflow uses it. Why: a result arrives as JSON from a
 * worker that may run other code than this workflow (an older release, a bug): NaN becomes null, a
 * field can be missing. A TypeError in workflow code fails the workflow task, which Temporal retries
 * forever: the run stays RUNNING, cancel cannot finish it and `simclr resume` refuses it. A malformed
 * result must instead fail the run with a message that names the field, and whatever is only shown
 * (details, notes) is formatted so that it cannot throw at all.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { PretrainEpochResult, RepresentationEval } from '../contracts';

/** The failure type of a malformed activity result: no retry of the workflow can fix it. */
export const MALFORMED_RESULT = 'MalformedActivityResult';

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function malformed(what: string, problems: string[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${what} returned a malformed result: ${problems.join('; ')}`,
    MALFORMED_RESULT,
  );
}

/**
 * The result of `pretrainEpoch` for `epoch`, checked: the fields the loop and the report rely on are
 * there and finite (JSON turns NaN into null), and it is the epoch that was asked for.
 */
export function checkedEpochResult(result: unknown, epoch: number): PretrainEpochResult {
  const r = (result ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (r.epoch !== epoch) problems.push(`epoch is ${String(r.epoch)}, expected ${epoch}`);
  if (!Number.isInteger(r.globalStep)) problems.push(`globalStep is ${String(r.globalStep)}`);
  if (typeof r.checkpoint !== 'string' || r.checkpoint === '')
    problems.push(`checkpoint is ${JSON.stringify(r.checkpoint)}`);
  for (const field of ['meanLoss', 'meanContrastiveAcc', 'seconds', 'imagesPerSec'] as const)
    if (!isFiniteNumber(r[field])) problems.push(`${field} is ${String(r[field])}, not a finite number`);
  if (r.knnTop1 !== undefined && !isFiniteNumber(r.knnTop1)) problems.push(`knnTop1 is ${String(r.knnTop1)}`);
  if (problems.length) throw malformed(`pretrainEpoch of epoch ${epoch}`, problems);
  return result as PretrainEpochResult;
}

/** The result of `evaluateRepresentation`, checked: linear and kNN top-1 / top-5 are numbers in [0, 1]. */
export function checkedRepresentationEval(result: unknown, what: string): RepresentationEval {
  const r = (result ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const problems: string[] = [];
  for (const part of ['linear', 'knn'] as const)
    for (const field of ['top1', 'top5'] as const) {
      const v = r[part]?.[field];
      if (!isFiniteNumber(v) || v < 0 || v > 1) problems.push(`${part}.${field} is ${String(v)}`);
    }
  if (problems.length) throw malformed(what, problems);
  return result as RepresentationEval;
}

/** `x` with `digits` decimals, or 'n/a' for anything that is not a finite number; never throws. */
export function fixed(x: unknown, digits: number): string {
  return isFiniteNumber(x) ? x.toFixed(digits) : 'n/a';
}

/** A fraction as a percentage with one decimal ('61.2 %'), or 'n/a'; never throws. */
export function percent(x: unknown): string {
  return isFiniteNumber(x) ? `${(x * 100).toFixed(1)} %` : 'n/a';
}

/**
 * A sweep's expectation: the paper's claimed direction between variants, written as comparisons that
 * are checked against the measured numbers once the sweep is done. `a > b > c` is a chain (a > b and
 * b > c); claims are separated by commas.
 *
 * [SimCLR] Fig. 5 (composition of augmentations), written for the `augmentations` preset:
 *
 * ```ts
 * const claims = parseClaims('both > crop-only, both > color-only'); // 2 comparisons
 * checkExpectation({ metric: 'linearTop1', holds: 'both > crop-only' }, { both: { linearTop1: 0.8 }, ... });
 * // { verdict: 'matches', comparisons: [{ better: 'both', worse: 'crop-only', difference: 0.05, holds: true }] }
 * ```
 *
 * Free of node: imports (pure), so the sweep workflow's types can name it.
 */

/** What a claim compares: accuracies, where higher is better. */
export const EXPECTATION_METRICS = ['linearTop1', 'knnTop1'] as const;
export type ExpectationMetric = (typeof EXPECTATION_METRICS)[number];

export const METRIC_LABELS: Record<ExpectationMetric, string> = {
  linearTop1: 'linear top-1',
  knnTop1: 'kNN top-1',
};

/** One declared expectation of a sweep file (`expect:` list). */
export interface Expectation {
  metric: ExpectationMetric;
  /** e.g. 'nonlinear > linear > none' or 'both > crop-only, both > color-only'. */
  holds: string;
  /** Where the paper says so, e.g. '[SimCLR] Sec. 4.2, Fig. 8'. */
  source?: string;
  /** What may make the small-scale result differ from the paper's (grayscale, few epochs, …). */
  note?: string;
}

/** `better` should score higher than `worse` on the metric. */
export interface Comparison {
  better: string;
  worse: string;
}

export interface ComparisonResult extends Comparison {
  /** better − worse (fractions of 1; × 100 for percentage points); undefined when a value is missing. */
  difference?: number;
  holds?: boolean;
}

export type Verdict = 'matches' | 'does not match' | 'incomplete';

export interface ExpectationResult extends Expectation {
  verdict: Verdict;
  comparisons: ComparisonResult[];
}

/** Thrown for a claim that does not parse; the caller turns it into a ConfigError naming the field. */
export class ClaimSyntaxError extends Error {}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The comparisons of a claim string; ClaimSyntaxError when it is not `name > name [> name] [, …]`. */
export function parseClaims(holds: string): Comparison[] {
  const out: Comparison[] = [];
  for (const part of holds.split(',')) {
    const names = part.split('>').map((n) => n.trim());
    if (names.length < 2)
      throw new ClaimSyntaxError(
        `expected comparisons like 'a > b' or 'a > b > c', separated by commas; found '${part.trim()}'`,
      );
    for (const n of names) {
      if (!NAME.test(n))
        throw new ClaimSyntaxError(
          `expected a variant name on each side of '>', found '${n}' in '${part.trim()}'`,
        );
    }
    for (let i = 0; i + 1 < names.length; i++) out.push({ better: names[i], worse: names[i + 1] });
  }
  return out;
}

/** The variant names a claim mentions that are not in `known` (empty when every one exists). */
export function unknownVariants(holds: string, known: readonly string[]): string[] {
  const names = new Set(parseClaims(holds).flatMap((c) => [c.better, c.worse]));
  return [...names].filter((n) => !known.includes(n));
}

/**
 * Checks an expectation against the measured metrics per variant: 'matches' when every comparison
 * holds (strictly higher), 'does not match' when one fails, 'incomplete' when a value is missing.
 */
export function checkExpectation(
  expectation: Expectation,
  metrics: Readonly<Record<string, Partial<Record<ExpectationMetric, number>> | undefined>>,
): ExpectationResult {
  const comparisons = parseClaims(expectation.holds).map((c): ComparisonResult => {
    const a = metrics[c.better]?.[expectation.metric];
    const b = metrics[c.worse]?.[expectation.metric];
    if (a === undefined || b === undefined) return { ...c };
    return { ...c, difference: a - b, holds: a > b };
  });
  const verdict: Verdict = comparisons.some((c) => c.holds === false)
    ? 'does not match'
    : comparisons.every((c) => c.holds === true)
      ? 'matches'
      : 'incomplete';
  return { ...expectation, verdict, comparisons };
}

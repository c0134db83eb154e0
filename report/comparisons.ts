/**
 * "Did SimCLR beat it?" for every baseline of a run, in one place for the CLI's table and the HTML
 * report: each SimCLR result beside the baseline it is judged against, the top-1 margin in percentage
 * points and a plain verdict.
 *
 * | SimCLR                 | against                                                              |
 * |------------------------|----------------------------------------------------------------------|
 * | linear evaluation      | random-init encoder, raw pixels, supervised upper bound ([SimCLR] Fig. 1) |
 * | kNN                    | random-init encoder, raw pixels                                      |
 * | fine-tune on f labels  | training from scratch on the same f labels ([SimCLR] Table 7)       |
 *
 * @example
 *   for (const c of compareWithBaselines(results)) console.log(`${c.evaluation} vs ${c.baseline}: ${c.verdict}`);
 *   // linear evaluation vs raw pixels: −3.1 pts ✗ behind
 */

interface Accuracy {
  top1: number;
  top5: number;
}

interface FractionAccuracy extends Accuracy {
  fraction: number;
}

/** What the comparisons need of a run's results (ExperimentResults and the report's results both map onto it). */
export interface ComparableResults {
  linear: Accuracy;
  knn: Accuracy & { k?: number };
  fineTune: FractionAccuracy[];
  randomInit?: { linear: Accuracy; knn: Accuracy };
  pixels?: { linear: Accuracy; knn: Accuracy };
  supervised?: Accuracy & { epochs: number };
  scratchFineTune?: FractionAccuracy[];
}

export type Outcome = 'beat' | 'level' | 'behind';

export interface Verdict {
  /** SimCLR minus baseline top-1, in percentage points, of the accuracies rounded to 0.1 %. */
  marginPts: number;
  outcome: Outcome;
  /** '+3.1 pts ✓ beat', '−2.0 pts ✗ behind', '±0.0 pts = level'. */
  text: string;
}

export interface Comparison extends Verdict {
  /** What SimCLR did: 'linear evaluation', 'kNN (k=200)', 'fine-tune 1 %'. */
  evaluation: string;
  /** What it is judged against: 'raw pixels', 'supervised (all labels, 10 epochs)', ... */
  baseline: string;
  /** True for the supervised upper bound, which SimCLR is not expected to beat. */
  upperBound: boolean;
  simclr: Accuracy;
  other: Accuracy;
}

/** An accuracy (fraction) as a table prints it: in percent, to one decimal (cli/format.ts `percent`). */
const printed = (accuracy: number): number => Number((accuracy * 100).toFixed(1));

/**
 * The verdict on two top-1 accuracies (fractions), judged on the accuracies as tables show them (in
 * percent with one decimal), so that the margin is the difference of the two numbers printed beside
 * it: beat when SimCLR's is higher, behind when lower, level when they print the same.
 */
export function verdict(simclrTop1: number, baselineTop1: number): Verdict {
  const marginPts = Math.round((printed(simclrTop1) - printed(baselineTop1)) * 10) / 10;
  const shown = Math.abs(marginPts).toFixed(1);
  if (marginPts === 0) return { marginPts, outcome: 'level', text: '±0.0 pts = level' };
  if (marginPts > 0) return { marginPts, outcome: 'beat', text: `+${shown} pts ✓ beat` };
  return { marginPts, outcome: 'behind', text: `−${shown} pts ✗ behind` };
}

/** A label fraction as people write it: 0.01 → '1 %', 0.005 → '0.5 %'. */
export function fractionLabel(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))} %`;
}

/** Every SimCLR-vs-baseline pair the results hold, in reading order (linear, kNN, fine-tuning). */
export function compareWithBaselines(r: ComparableResults): Comparison[] {
  const out: Comparison[] = [];
  const add = (evaluation: string, baseline: string, simclr: Accuracy, other: Accuracy, upperBound = false) =>
    out.push({ evaluation, baseline, simclr, other, upperBound, ...verdict(simclr.top1, other.top1) });
  const linear = 'linear evaluation';
  const knn = `kNN${r.knn.k ? ` (k=${r.knn.k})` : ''}`;
  if (r.randomInit) add(linear, 'random-init encoder', r.linear, r.randomInit.linear);
  if (r.pixels) add(linear, 'raw pixels', r.linear, r.pixels.linear);
  if (r.supervised) {
    const epochs = `${r.supervised.epochs} epoch${r.supervised.epochs === 1 ? '' : 's'}`;
    add(linear, `supervised (all labels, ${epochs})`, r.linear, r.supervised, true);
  }
  if (r.randomInit) add(knn, 'random-init encoder', r.knn, r.randomInit.knn);
  if (r.pixels) add(knn, 'raw pixels', r.knn, r.pixels.knn);
  for (const f of [...r.fineTune].sort((a, b) => a.fraction - b.fraction)) {
    const scratch = r.scratchFineTune?.find((s) => s.fraction === f.fraction);
    const label = fractionLabel(f.fraction);
    if (scratch) add(`fine-tune ${label}`, `from scratch on the same ${label}`, f, scratch);
  }
  return out;
}

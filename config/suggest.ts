/**
 * "Did you mean …?" for misspelt keys and enum values: the closest candidates by edit distance.
 *
 * @example
 *   closestMatches('optimzer', ['optimizer', 'momentum']); // ['optimizer']
 *   closestMatches('batch_size', ['batchSize']);          // ['batchSize'] (case, '_' and '-' ignored)
 */

/**
 * Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
 * adjacent characters each cost 1 ("optimzier" is one edit from "optimizer").
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[rows - 1][cols - 1];
}

/** Lower case without '_', '-', ' ' and '.': `batch_size`, `Batch-Size` and `batchSize` compare equal. */
function normalise(s: string): string {
  return s.toLowerCase().replace(/[-_ .]/g, '');
}

/**
 * The candidates closest to `word`, if within a small edit distance (≤ 1 for short words, ≤ 2 from 5
 * characters, ≤ 3 from 9); spelling variants of case and separators count as distance 0.
 */
export function closestMatches(word: string, candidates: readonly string[]): string[] {
  const w = normalise(word);
  const limit = w.length < 5 ? 1 : w.length < 9 ? 2 : 3;
  const near = candidates
    .map((c) => ({ c, d: editDistance(w, normalise(c)) }))
    .filter(({ c, d }) => d <= limit && c !== word);
  // Only the closest: 'resnet-18' suggests 'resnet18', not also 'resnet34'.
  const best = Math.min(...near.map(({ d }) => d));
  return near.filter(({ d }) => d === best).map(({ c }) => c);
}

/** ` (did you mean "x"?)`, ` (did you mean "x" or "y"?)`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[], quote = true): string {
  const found = closestMatches(word, candidates).slice(0, 3);
  if (found.length === 0) return '';
  const q = (s: string) => (quote ? JSON.stringify(s) : s);
  const list =
    found.length === 1
      ? q(found[0])
      : `${found.slice(0, -1).map(q).join(', ')} or ${q(found[found.length - 1])}`;
  return ` (did you mean ${list}?)`;
}

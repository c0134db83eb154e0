/**
 * Plain-text formatting for the `simclr` command: progress bars, durations, percentages, timestamps and
 * aligned tables. Pure functions (no I/O, no colour), so the live view and the summaries look the same
 * on a terminal and in CI logs.
 */

/** Clamps to [0, 1]; NaN and ±Infinity (unknown totals) count as 0 / 1. */
export function clampFraction(fraction: number): number {
  if (Number.isNaN(fraction)) return 0;
  return Math.min(1, Math.max(0, fraction));
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * A fixed-width bar, `width` cells of '█' (done) and '░' (to do), with eighth-cell resolution so slow
 * progress still moves on a narrow bar.
 *
 * @example progressBar(0.5, 8) === '████░░░░'
 */
export function progressBar(fraction: number, width = 24): string {
  if (!Number.isInteger(width) || width < 1)
    throw new Error(`progress bar width must be a positive integer, got ${width}`);
  const eighths = Math.round(clampFraction(fraction) * width * 8);
  const full = Math.floor(eighths / 8);
  const partial = EIGHTHS[eighths % 8];
  const used = full + (partial ? 1 : 0);
  return '█'.repeat(full) + partial + '░'.repeat(width - used);
}

/**
 * A fraction as a percentage with `digits` decimals and a space before the sign (the project's style,
 * as in the workflows' details: "61.2 %"). Undefined or NaN prints as '–'.
 */
export function percent(fraction: number | undefined, digits = 1): string {
  if (fraction === undefined || Number.isNaN(fraction)) return '–';
  return `${(fraction * 100).toFixed(digits)} %`;
}

/**
 * A duration for people: '0.4s' below 10 s, '42s', '2m 03s', '1h 02m', '2d 03h'. Negative or NaN
 * (clock skew, unknown) prints as '–'.
 */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || Number.isNaN(seconds) || seconds < 0) return '–';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * 'YYYYMMDD-HHMMSS' in UTC: the suffix of a default experiment id (`<name>-<stamp>`). UTC so that ids
 * made on machines in different time zones sort in start order.
 */
export function compactTimestamp(date: Date): string {
  return (
    `${date.getUTCFullYear()}${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}-` +
    `${pad2(date.getUTCHours())}${pad2(date.getUTCMinutes())}${pad2(date.getUTCSeconds())}`
  );
}

/** 'YYYY-MM-DD HH:MM:SS' in local time, for tables read by people. */
export function formatTimestamp(date: Date | undefined): string {
  if (!date || Number.isNaN(date.getTime())) return '–';
  return (
    `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())} ` +
    `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`
  );
}

/** Cuts a line to at most `width` characters (code points), ending in '…' when cut. */
export function truncate(line: string, width: number): string {
  const chars = Array.from(line);
  if (chars.length <= width) return line;
  if (width <= 1) return chars.slice(0, Math.max(0, width)).join('');
  return chars.slice(0, width - 1).join('') + '…';
}

export type Align = 'left' | 'right';

/**
 * Columns aligned with two spaces between them; the header row first. Numbers read best right-aligned:
 * pass `align` per column (default left). Trailing spaces are trimmed.
 *
 * @example table(['ID', 'TOP-1'], [['a', '61.2 %']], ['left', 'right'])
 */
export function table(headers: string[], rows: string[][], align: Align[] = []): string {
  for (const [i, row] of rows.entries()) {
    if (row.length !== headers.length)
      throw new Error(`table row ${i} has ${row.length} cells, the header has ${headers.length}`);
  }
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => Array.from(r[c]).length)));
  return all
    .map((r) =>
      r
        .map((cell, c) => {
          const fill = ' '.repeat(widths[c] - Array.from(cell).length);
          return align[c] === 'right' ? fill + cell : cell + fill;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

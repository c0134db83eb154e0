import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clampFraction,
  compactTimestamp,
  formatDuration,
  formatTimestamp,
  percent,
  progressBar,
  table,
  truncate,
} from '../../cli/format';

test('progressBar: fixed width, proportional fill, eighth-cell resolution, clamped', () => {
  assert.equal(progressBar(0, 8), '░░░░░░░░');
  assert.equal(progressBar(0.5, 8), '████░░░░');
  assert.equal(progressBar(1, 8), '████████');
  assert.equal(progressBar(1 / 16, 8), '▌░░░░░░░'); // half a cell
  assert.equal(progressBar(1.7, 4), '████');
  assert.equal(progressBar(-1, 4), '░░░░');
  assert.equal(progressBar(Number.NaN, 4), '░░░░');
  for (let f = 0; f <= 1; f += 0.013)
    assert.equal(Array.from(progressBar(f, 24)).length, 24, `width at ${f}`);
  assert.throws(() => progressBar(0.5, 0), /width must be a positive integer/);
});

test('clampFraction keeps [0, 1] and maps NaN to 0', () => {
  assert.equal(clampFraction(0.25), 0.25);
  assert.equal(clampFraction(2), 1);
  assert.equal(clampFraction(-0.1), 0);
  assert.equal(clampFraction(Number.NaN), 0);
  assert.equal(clampFraction(Infinity), 1);
});

test('percent: one decimal by default, a space before the sign, dash when unknown', () => {
  assert.equal(percent(0.612), '61.2 %');
  assert.equal(percent(1), '100.0 %');
  assert.equal(percent(0.12345, 2), '12.35 %');
  assert.equal(percent(undefined), '–');
  assert.equal(percent(Number.NaN), '–');
});

test('formatDuration: tenths below 10 s, then s, m s, h m, d h', () => {
  assert.equal(formatDuration(0.42), '0.4s');
  assert.equal(formatDuration(9.94), '9.9s');
  assert.equal(formatDuration(42.9), '42s');
  assert.equal(formatDuration(123), '2m 03s');
  assert.equal(formatDuration(3600 + 120 + 5), '1h 02m');
  assert.equal(formatDuration(2 * 86400 + 3 * 3600 + 59), '2d 03h');
  assert.equal(formatDuration(-1), '–');
  assert.equal(formatDuration(undefined), '–');
});

test('compactTimestamp is the UTC YYYYMMDD-HHMMSS suffix of experiment ids', () => {
  assert.equal(compactTimestamp(new Date('2025-03-07T04:05:09.999Z')), '20250307-040509');
  assert.equal(compactTimestamp(new Date('1999-12-31T23:59:59Z')), '19991231-235959');
});

test('formatTimestamp prints local time and a dash for unknown dates', () => {
  const d = new Date(2025, 0, 2, 3, 4, 5);
  assert.equal(formatTimestamp(d), '2025-01-02 03:04:05');
  assert.equal(formatTimestamp(undefined), '–');
  assert.equal(formatTimestamp(new Date('not a date')), '–');
});

test('truncate cuts to the width with an ellipsis, counting code points', () => {
  assert.equal(truncate('hello', 10), 'hello');
  assert.equal(truncate('hello world', 6), 'hello…');
  assert.equal(truncate('██████', 3), '██…');
  assert.equal(truncate('abc', 1), 'a');
});

test('table aligns columns (left or right), two spaces apart, trailing spaces trimmed', () => {
  const t = table(
    ['ID', 'TOP-1', 'NOTE'],
    [
      ['a', '61.2 %', ''],
      ['longer-id', '9.0 %', 'x'],
    ],
    ['left', 'right', 'left'],
  );
  assert.equal(t, ['ID          TOP-1  NOTE', 'a          61.2 %', 'longer-id   9.0 %  x'].join('\n'));
  // Unicode cells count as one column each.
  assert.equal(table(['A'], [['–']]), 'A\n–');
  assert.throws(() => table(['A', 'B'], [['only one']]), /row 0 has 1 cells, the header has 2/);
});

/**
 * The pure pieces of scheduled retraining: the `simclr schedule` flag checks (one-line usage errors),
 * the comparison of a run with its parent (better / worse, by how many points), the schedule's store
 * keys, and the report's Lineage section.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overlapFlag, overlapPolicy, scheduleWhen, tolerancePoints } from '../../cli/schedule-options';
import { CliError } from '../../cli/output';
import { describeSpec } from '../../cli/commands/schedule';
import { compareRuns, describeDelta } from '../../report/lineage';
import { scheduleKeys } from '../../storage/layout';

const usageError = (fn: () => unknown, message: RegExp) =>
  assert.throws(
    fn,
    (err: unknown) => err instanceof CliError && err.exitCode === 2 && message.test(err.message),
  );

test('schedule flags: exactly one of --cron / --every, known overlap policies, a tolerance in points', () => {
  assert.deepEqual(scheduleWhen({ every: '24h' }, true), { every: '24h' });
  assert.deepEqual(scheduleWhen({ cron: ' 0 3 * * * ' }, true), { cron: '0 3 * * *' });
  assert.equal(scheduleWhen({}, false), undefined);
  usageError(() => scheduleWhen({ cron: '0 3 * * *', every: '1h' }, true), /not both/);
  usageError(() => scheduleWhen({}, true), /--cron .* or --every/);
  usageError(() => scheduleWhen({ every: '0h' }, true), /--every '0h'/);
  usageError(() => scheduleWhen({ cron: '3am' }, true), /five fields/);
  assert.equal(overlapPolicy(undefined), undefined);
  assert.equal(overlapPolicy('buffer-one'), 'BUFFER_ONE');
  assert.equal(overlapFlag('TERMINATE_OTHER'), 'terminate-other');
  usageError(() => overlapPolicy('never'), /expected one of skip, buffer-one/);
  assert.equal(tolerancePoints('0.5'), 0.5);
  usageError(() => tolerancePoints('-1'), /between 0 and 100/);
  usageError(() => tolerancePoints('half'), /--tolerance 'half'/);
});

test('a run against its parent: accuracies in points (higher is better), the loss lower is better', () => {
  const rows = compareRuns(
    {
      linear: { top1: 0.8125 },
      knn: { top1: 0.7 },
      fineTune: [{ fraction: 0.1, top1: 0.6 }],
      finalLoss: 4.1,
    },
    { linear: { top1: 0.8 }, knn: { top1: 0.72 }, fineTune: [{ fraction: 0.1, top1: 0.6 }], finalLoss: 4.3 },
  );
  assert.deepEqual(
    rows.map((r) => [r.metric, r.verdict, describeDelta(r)]),
    [
      ['linear evaluation top-1', 'better', '+1.25 points better'],
      ['kNN top-1', 'worse', '−2.00 points worse'],
      ['fine-tune on 10 % labels top-1', 'same', 'the same'],
      ['final pretraining loss', 'better', '−0.20 better'],
    ],
  );
});

test("a schedule's records live under models/<schedule>/ and its name is one key segment", () => {
  const keys = scheduleKeys('nightly');
  assert.equal(keys.run('nightly-20261129-030000'), 'models/nightly/runs/nightly-20261129-030000.json');
  assert.equal(keys.promotion('e1'), 'models/nightly/promotions/e1.json');
  assert.equal(keys.current, 'models/nightly/CURRENT.json');
  assert.throws(() => scheduleKeys('a/b'), /schedule name 'a\/b'/);
  assert.throws(() => keys.run('x/y'), /one key segment/);
});

test('a schedule spec reads as the flags wrote it: every 24h, a cron line for the calendar Temporal returns', () => {
  assert.equal(describeSpec({ spec: { intervals: [{ every: 86_400_000, offset: 0 }] } }), 'every 24h');
  assert.equal(
    describeSpec({
      spec: {
        intervals: [
          { every: 7 * 86_400_000, offset: 0 },
          { every: 1_800_000, offset: 0 },
        ],
      },
    }),
    'every 7d; every 30m',
  );
  // The calendar of `--cron "0 3 * * *"`, as describe() returned it from the dev server.
  const calendar = {
    second: [{ start: 0, end: 0, step: 1 }],
    minute: [{ start: 0, end: 0, step: 1 }],
    hour: [{ start: 3, end: 3, step: 1 }],
    dayOfMonth: [{ start: 1, end: 31, step: 1 }],
    month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
    year: [],
    dayOfWeek: [{ start: 'SUNDAY', end: 'SATURDAY', step: 1 }],
    comment: '',
  };
  assert.equal(describeSpec({ spec: { calendars: [calendar] } } as never), 'cron "0 3 * * *"');
  const weekdays = {
    ...calendar,
    minute: [{ start: 0, end: 59, step: 15 }],
    dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }],
  };
  assert.equal(describeSpec({ spec: { calendars: [weekdays] } } as never), 'cron "0-59/15 3 * * mon-fri"');
});

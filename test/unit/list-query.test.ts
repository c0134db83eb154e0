import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listQuery, sinceTime } from '../../cli/list-query';
import { CliError } from '../../cli/output';

const NOW = new Date('2026-11-29T18:00:00.000Z');

test('list filters become one visibility query, as the web UI filter bar takes it', () => {
  assert.equal(listQuery('experiment', {}, NOW), "WorkflowType = 'experiment'");
  assert.equal(
    listQuery('experiment', { stage: 'pretrain', schedule: 'nightly', status: 'Running', since: '24h' }, NOW),
    "WorkflowType = 'experiment' AND SimclrStage = 'pretrain' AND ExecutionStatus = 'Running' AND " +
      "SimclrSchedule = 'nightly' AND StartTime >= '2026-11-28T18:00:00.000Z'",
  );
  assert.equal(
    listQuery('experiment', { status: 'cancelled', encoder: 'resnet18', dataset: 'ab12' }, NOW),
    "WorkflowType = 'experiment' AND ExecutionStatus = 'Canceled' AND SimclrEncoder = 'resnet18' AND " +
      "SimclrDatasetId = 'ab12'",
  );
  assert.equal(sinceTime('2026-11-01', NOW), '2026-11-01T00:00:00.000Z');
  assert.equal(sinceTime('90m', NOW), '2026-11-29T16:30:00.000Z');
});

test('a bad filter is a usage error naming the flag and what it takes', () => {
  const usage = (f: Parameters<typeof listQuery>[1], pattern: RegExp) =>
    assert.throws(
      () => listQuery('experiment', f, NOW),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && pattern.test(e.message),
    );
  usage({ stage: 'training' }, /^--stage training: expected one of validate, shard, pretrain/);
  usage({ status: 'ok' }, /^--status ok: expected one of running, completed/);
  usage({ since: 'yesterday' }, /^--since yesterday: expected a duration/);
  usage({ schedule: "x' OR 1=1" }, /^--schedule .*letters, digits/);
});

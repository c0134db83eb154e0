import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { PlainRenderer, renderFrame, stageDetail } from '../../cli/live-view';
import { fractionLabel, reportLocation, resultsTable } from '../../cli/results';
import { failureMessage, pretrainState, type RunSnapshot } from '../../cli/snapshot';
import type { ExperimentResults, PretrainEpochResult, PretrainLoopProgress } from '../../contracts';

function epochResult(epoch: number, meanLoss: number, knnTop1?: number): PretrainEpochResult {
  return {
    epoch,
    globalStep: (epoch + 1) * 50,
    meanLoss,
    meanContrastiveAcc: 0.5,
    checkpoint: `ck-${epoch}`,
    seconds: 10,
    imagesPerSec: 100,
    knnTop1,
    backend: 'tensorflow',
  };
}

const loop: PretrainLoopProgress = {
  epoch: 2,
  epochs: 10,
  checkpoint: 'ck-1',
  history: [epochResult(0, 5.1, 0.4), epochResult(1, 4.9)],
  augmentationWaitMs: 0,
};

test('pretrainState turns a global-step heartbeat into epoch, step within the epoch and overall progress', () => {
  const p = pretrainState(loop, 10, {
    epoch: 2,
    step: 2 * 50 + 20,
    stepsPerEpoch: 50,
    loss: 4.81,
    checkpoint: 'step-120',
  })!;
  assert.equal(p.epoch, 2);
  assert.equal(p.step, 20);
  assert.equal(p.stepsPerEpoch, 50);
  assert.equal(p.loss, 4.81);
  assert.equal(p.checkpoint, 'step-120');
  assert.ok(Math.abs(p.fraction - (2 + 20 / 50) / 10) < 1e-12);
  assert.equal(p.lastEpochLoss, 4.9);
  assert.equal(p.knnTop1, 0.4, 'the latest kNN measured, even when the last epoch had none');
});

test('pretrainState falls back to the loop state when the running epoch has not heartbeated', () => {
  const p = pretrainState(loop, 10, undefined)!;
  assert.equal(p.epoch, 2);
  assert.equal(p.step, undefined);
  assert.equal(p.fraction, 0.2);
  assert.equal(pretrainState(undefined, 10, { nonsense: true }), undefined);
});

function snapshot(extra: Partial<RunSnapshot>): RunSnapshot {
  return {
    experimentId: 'fm-20250101-000000',
    runId: 'r1',
    status: 'RUNNING',
    closed: false,
    startTime: '2025-01-01T00:00:00.000Z',
    elapsedSeconds: 130,
    activities: [],
    noWorker: false,
    ...extra,
  };
}

const stages = [
  {
    stage: 'validate' as const,
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:00:01.000Z',
    seconds: 1,
  },
  {
    stage: 'shard' as const,
    startedAt: '2025-01-01T00:00:01.000Z',
    endedAt: '2025-01-01T00:00:31.000Z',
    seconds: 30,
  },
  { stage: 'pretrain' as const, startedAt: '2025-01-01T00:00:31.000Z' },
];

test('renderFrame: a line per stage, a bar with epoch, step and loss for pretraining, retries shown', () => {
  const s = snapshot({
    stage: 'pretrain',
    progress: { experimentId: 'x', stage: 'pretrain', epoch: 2, epochs: 10, stages, augmentationWaitMs: 0 },
    pretrain: pretrainState(loop, 10, { epoch: 2, step: 125, stepsPerEpoch: 50, loss: 4.8123 }),
    activities: [{ activity: 'pretrainEpoch', attempt: 2, lastFailure: 'worker lost' }],
  });
  const lines = renderFrame(s, new Date('2025-01-01T00:02:10.000Z'));
  assert.equal(lines[0], 'experiment fm-20250101-000000  running  2m 10s');
  assert.equal(lines[1], '  ✓ validate  1.0s');
  assert.equal(lines[2], '  ✓ shard     30s');
  assert.match(
    lines[3],
    // Loss trend of the finished epochs (5.1, 4.9), throughput (2 views × 100 images/s), ETA at 10 s/epoch.
    /^ {2}▸ pretrain {2}█{6}░{18} {2}25\.0 % {2}epoch 3\/10 {2}step 25\/50 {2}loss 4\.8123 █▁ {2}kNN top-1 40\.0 % {2}200 views\/s {2}ETA 1m 15s {2}\(1m 39s\)$/,
  );
  assert.equal(lines[4], '  · finetune');
  assert.equal(lines.at(-1), '  ! pretrainEpoch attempt 2 after: worker lost');
  assert.equal(stageDetail(s).fraction, 0.25);
});

test('renderFrame never shows an activity of an earlier stage (fineTune ended, evaluate begun)', () => {
  const evaluating = [
    ...stages.map((t) => ({
      ...t,
      endedAt: t.endedAt ?? '2025-01-01T00:01:00.000Z',
      seconds: t.seconds ?? 29,
    })),
    {
      stage: 'finetune' as const,
      startedAt: '2025-01-01T00:01:00.000Z',
      endedAt: '2025-01-01T00:01:30.000Z',
      seconds: 30,
    },
    { stage: 'evaluate' as const, startedAt: '2025-01-01T00:01:30.000Z' },
  ];
  // The describe that listed the pending activities was read just before fineTune completed.
  const s = snapshot({
    stage: 'evaluate',
    progress: {
      experimentId: 'x',
      stage: 'evaluate',
      epoch: 10,
      epochs: 10,
      stages: evaluating,
      augmentationWaitMs: 0,
    },
    activities: [{ activity: 'fineTune', attempt: 2, details: { epoch: 29, epochs: 30 } }],
  });
  const lines = renderFrame(s, new Date('2025-01-01T00:01:40.000Z'));
  const evaluate = lines.find((l) => l.includes('evaluate'))!;
  assert.equal(evaluate, '  ▸ evaluate  (10s)');
  assert.ok(!lines.join('\n').includes('fineTune'), lines.join('\n'));
  // Its own activity, with epochs in its heartbeat, gets a bar and an ETA at the pace so far.
  s.activities = [{ activity: 'evaluateRepresentation', attempt: 1, details: { epoch: 5, epochs: 20 } }];
  const own = renderFrame(s, new Date('2025-01-01T00:01:40.000Z')).find((l) => l.includes('evaluate'))!;
  assert.match(
    own,
    /▸ evaluate +█{6}░{18} +25\.0 % {2}epoch 5\/20 {2}evaluateRepresentation {2}ETA 30s {2}\(10s\)$/,
  );
});

test('renderFrame marks the stage a failed run stopped in, and says when no worker answers', () => {
  const ended = stages.map((t) => ({
    ...t,
    endedAt: t.endedAt ?? '2025-01-01T00:01:00.000Z',
    seconds: t.seconds ?? 29,
  }));
  const failed = renderFrame(
    snapshot({
      status: 'FAILED',
      closed: true,
      stage: 'failed',
      failure: 'pretrainEpoch: boom',
      progress: {
        experimentId: 'x',
        stage: 'failed',
        epoch: 0,
        epochs: 10,
        stages: ended,
        augmentationWaitMs: 0,
      },
    }),
  );
  assert.ok(failed.includes('  ✗ pretrain  29s'), failed.join('\n'));
  assert.ok(failed.includes('  ✓ shard     30s'));
  assert.equal(failed.at(-1), '  failed: pretrainEpoch: boom');
  const waiting = renderFrame(snapshot({ stage: 'shard', noWorker: true }));
  assert.deepEqual(waiting.slice(1, 2), ['  stage: shard']);
  assert.match(waiting[2], /no worker is answering: start one with 'simclr worker --queue all'/);
});

test('PlainRenderer logs stage changes once, each retry once, and progress at most every interval', () => {
  const lines: string[] = [];
  const r = new PlainRenderer((l) => lines.push(l), 10_000);
  const s = snapshot({
    stage: 'pretrain',
    progress: { experimentId: 'x', stage: 'pretrain', epoch: 2, epochs: 10, stages, augmentationWaitMs: 0 },
    pretrain: pretrainState(loop, 10, { epoch: 2, step: 125, stepsPerEpoch: 50, loss: 4.8123 }),
  });
  r.draw(s, 100_000);
  r.draw(s, 105_000);
  r.draw({ ...s, activities: [{ activity: 'pretrainEpoch', attempt: 2 }] }, 111_000);
  const text = lines.join('\n');
  assert.equal(lines.filter((l) => l.includes('✓ shard done in 30s')).length, 1, text);
  assert.equal(lines.filter((l) => l.includes('▸ pretrain')).length, 1, text);
  assert.equal(
    lines.filter((l) => l.includes('pretrain 25.0 %  epoch 3/10  step 25/50  loss 4.8123')).length,
    2,
    text,
  );
  assert.equal(lines.filter((l) => l.includes('! pretrainEpoch attempt 2')).length, 1, text);
});

const results: ExperimentResults = {
  pretrained: {
    encoder: 'pretrained',
    linear: { top1: 0.8523, top5: 0.991 },
    knn: { top1: 0.81, top5: 0.98, k: 200 },
  },
  baseline: {
    encoder: 'random-init',
    linear: { top1: 0.603, top5: 0.95 },
    knn: { top1: 0.55, top5: 0.9, k: 200 },
  },
  fineTune: [
    { fraction: 0.01, labelledImages: 600, top1: 0.7, top5: 0.97 },
    { fraction: 0.1, labelledImages: 6000, top1: 0.8, top5: 0.99 },
  ],
  reportKey: 'experiments/x/report.json',
  reportHtmlKey: 'experiments/x/report.html',
  storeLocation: 'file:///var/lib/simclr/store',
};

test('results: the table puts the random-init baseline beside each evaluation; report paths are URLs', () => {
  const t = resultsTable(results).split('\n');
  assert.match(t[0], /TOP-1 +TOP-5 +RANDOM-INIT TOP-1 +TOP-5$/);
  assert.match(t[1], /^linear evaluation +85\.2 % +99\.1 % +60\.3 % +95\.0 %$/);
  assert.match(t[2], /^kNN \(k=200\) +81\.0 % +98\.0 % +55\.0 % +90\.0 %$/);
  assert.match(t[3], /^fine-tune 1 % \(600 labels\) +70\.0 % +97\.0 %$/);
  assert.equal(reportLocation(results), 'file:///var/lib/simclr/store/experiments/x/report.html');
  assert.equal(
    reportLocation({ ...results, storeLocation: '/tmp/my store/' }),
    'file:///tmp/my%20store/experiments/x/report.html',
  );
  assert.equal(
    reportLocation({ ...results, storeLocation: 's3://bucket/prefix' }),
    's3://bucket/prefix/experiments/x/report.html',
  );
  assert.equal(fractionLabel(0.01), '1 %');
  assert.equal(fractionLabel(0.005), '0.5 %');
});

test('failureMessage names the activity and the innermost cause of a failed run', () => {
  const inner = ApplicationFailure.nonRetryable("dataset.source: '/nope' does not exist", 'DatasetError');
  const activity = new ActivityFailure(
    'Activity task failed',
    'inspectDataset',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    'id',
    inner,
  );
  const err = new WorkflowFailedError(
    'Workflow execution failed',
    activity,
    RetryState.NON_RETRYABLE_FAILURE,
  );
  assert.equal(failureMessage(err), "inspectDataset: DatasetError: dataset.source: '/nope' does not exist");
  assert.equal(failureMessage(new Error('plain')), 'plain');
});

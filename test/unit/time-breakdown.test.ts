/**
 * The report's pretraining time breakdown (report/time-breakdown.ts): the sum over epochs of what
 * each pretrainEpoch recorded, kept by the report schema, and rendered as its own table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pretrainSummarySchema } from '../../report/report';
import { pretrainTimeSection, sumPretrainTime } from '../../report/time-breakdown';

const epoch = (seconds: number, stepsSeconds: number, knnSeconds = 0) => ({
  seconds,
  time: {
    setupSeconds: 0.5,
    viewsSeconds: 0.25,
    stepsSeconds,
    checkpointSeconds: 1,
    knnSeconds,
    metricsSeconds: 0.25,
  },
});

describe('pretraining time breakdown', () => {
  it('sums the epochs that recorded one and leaves the others out', () => {
    const sum = sumPretrainTime([epoch(10, 7), { seconds: 99 }, epoch(20, 14, 3)]);
    assert.deepEqual(sum, {
      setupSeconds: 1,
      viewsSeconds: 0.5,
      stepsSeconds: 21,
      checkpointSeconds: 2,
      knnSeconds: 3,
      metricsSeconds: 0.5,
      totalSeconds: 30,
      epochs: 2,
    });
    assert.equal(sumPretrainTime([{ seconds: 5 }]), undefined, 'results from before the breakdown existed');
    assert.deepEqual(
      pretrainSummarySchema.parse({ epochs: 3, steps: 9, timeBreakdown: sum }).timeBreakdown,
      sum,
    );
  });

  it('renders a table with each part, its share and the rest as "other"', () => {
    const html = pretrainTimeSection(sumPretrainTime([epoch(10, 7)]));
    assert.match(html, /Where pretraining time went/);
    assert.match(html, /Training steps<\/td><td class="n">7\.0 s<\/td><td class="n">70\.0 %/);
    assert.match(html, /Checkpoint writes<\/td><td class="n">1\.0 s<\/td><td class="n">10\.0 %/);
    assert.match(html, /Other \(heartbeats, event loop\)<\/td><td class="n">1\.0 s/);
    assert.match(html, /Part \(1 epoch\)/);
    assert.equal(pretrainTimeSection(undefined), '');
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detailsText, humanSeconds, lossTrend, pretrainLine } from '../../workflows/run-details';
import type { PretrainEpochResult } from '../../contracts';

function epoch(e: number, meanLoss: number, extra: Partial<PretrainEpochResult> = {}): PretrainEpochResult {
  const result: PretrainEpochResult = {
    epoch: e,
    globalStep: (e + 1) * 8,
    meanLoss,
    meanContrastiveAcc: 0.5,
    checkpoint: `ck-${e}`,
    seconds: 20,
    imagesPerSec: 30,
    backend: 'tensorflow',
  };
  return { ...result, ...extra };
}

test('the web UI details line has epoch, step, loss with its trend, views/s, ETA and kNN', () => {
  const history = [epoch(0, 5.2), epoch(1, 4.8, { knnTop1: 0.41 }), epoch(2, 4.5)];
  assert.equal(
    pretrainLine({ epochs: 15, stepsPerEpoch: 8, batchSize: 64, history }),
    'epoch 3/15 · step 24 · loss 4.5000 █▄▁ · 60 views/s · ETA 4m 00s · kNN top-1 41.0 %',
  );
  // Results without an image rate: views from the batch and the epoch's wall time.
  const older = [epoch(0, 5, { imagesPerSec: 0, seconds: 16 })];
  assert.match(
    pretrainLine({ epochs: 2, stepsPerEpoch: 8, batchSize: 64, history: older }),
    /· 64 views\/s ·/,
  );
  assert.equal(pretrainLine({ epochs: 2, stepsPerEpoch: 8, batchSize: 64, history: [] }), 'epoch 0/2');
});

test('loss trend, durations and the details text', () => {
  assert.equal(lossTrend([epoch(0, 3)]), '');
  assert.equal(lossTrend([epoch(0, 3), epoch(1, 3)]), '▁▁');
  assert.equal(humanSeconds(59.6), '1m 00s');
  assert.equal(humanSeconds(3 * 3600 + 5 * 60), '3h 05m');
  assert.equal(humanSeconds(-1), '?');
  assert.equal(detailsText('x', 'shard', ['a', undefined, 'b']), '**x** — stage: shard\n\na\n\nb');
});

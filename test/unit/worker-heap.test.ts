/**
 * The V8 heap growth a training process sets for itself (workers/heap.ts): the flag it applies, the
 * user's own `node --heap-growing-percent=N` respected, and the flag taking effect at run time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRAINING_HEAP_GROWING_PERCENT, trainingHeapFlag, tuneHeapForTraining } from '../../workers/heap';

test('a training process fixes the old-generation growth at 1 + 100 %', () => {
  assert.equal(TRAINING_HEAP_GROWING_PERCENT, 100);
  assert.equal(trainingHeapFlag([]), '--heap-growing-percent=100');
  assert.equal(
    trainingHeapFlag(['--import', 'tsx', '--max-old-space-size=8192']),
    '--heap-growing-percent=100',
  );
});

test("the user's own --heap-growing-percent on node's command line wins", () => {
  assert.equal(trainingHeapFlag(['--heap-growing-percent=50']), undefined);
  assert.equal(trainingHeapFlag(['--heap_growing_percent=30']), undefined);
  assert.equal(tuneHeapForTraining(['--heap-growing-percent=50']), undefined);
});

test('tuneHeapForTraining sets the flag in this process (V8 accepts it after start-up)', () => {
  assert.equal(tuneHeapForTraining([]), '--heap-growing-percent=100');
});

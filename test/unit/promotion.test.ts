/**
 * Promotion of a scheduled run's encoder (activities/retrain.ts) on a real filesystem store: the first
 * model is promoted, one within the tolerance too, one worse by more is refused and the current model
 * stays; a retried call returns the same decision, and completes a promotion a crash left half written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activityStore } from '../../activities/context';
import { promoteEncoder } from '../../activities/retrain';
import { scheduleKeys } from '../../storage/layout';
import { readCurrentModel, readPromotions, writeJson } from '../../storage/schedule-records';

let root: string;
const saved = process.env.SIMCLR_STORE;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'simclr-promotion-'));
  process.env.SIMCLR_STORE = `file://${root}`;
});

after(() => {
  if (saved === undefined) delete process.env.SIMCLR_STORE;
  else process.env.SIMCLR_STORE = saved;
  rmSync(root, { recursive: true, force: true });
});

const promote = (experimentId: string, linearTop1: number) =>
  promoteEncoder({
    schedule: 'nightly',
    experimentId,
    linearTop1,
    checkpoint: `experiments/${experimentId}/checkpoints/step-00000004`,
    tolerancePoints: 0.5,
  });

test('promoted when not worse than the current model by more than the tolerance; refused otherwise', async () => {
  const store = await activityStore();
  const first = await promote('e1', 0.8);
  assert.equal(first.promoted, true);
  assert.equal(first.previous, undefined);
  assert.match(first.reason, /first model/);

  const within = await promote('e2', 0.797); // −0.3 points
  assert.equal(within.promoted, true, within.reason);
  assert.equal(within.previous?.experimentId, 'e1');
  assert.ok(Math.abs(within.deltaPoints! + 0.3) < 1e-9);

  const worse = await promote('e3', 0.78); // −1.7 points against e2
  assert.equal(worse.promoted, false);
  assert.match(worse.reason, /−1\.70 points, tolerance 0\.5 points\): the current model stays/);
  assert.equal((await readCurrentModel(store, 'nightly'))?.experimentId, 'e2');

  // A retry returns the recorded decision, unchanged.
  assert.deepEqual(await promote('e3', 0.78), worse);
  assert.deepEqual(
    (await readPromotions(store, 'nightly')).map((p) => [p.experimentId, p.promoted]),
    [
      ['e1', true],
      ['e2', true],
      ['e3', false],
    ],
  );

  // A crash after the decision of a promotion, before CURRENT.json: the retry completes it.
  await writeJson(store, scheduleKeys('nightly').promotion('e4'), {
    ...within,
    experimentId: 'e4',
    linearTop1: 0.81,
    checkpoint: 'experiments/e4/checkpoints/step-00000004',
    decidedAt: new Date().toISOString(),
  });
  const retried = await promote('e4', 0.81);
  assert.equal(retried.promoted, true);
  assert.equal((await readCurrentModel(store, 'nightly'))?.experimentId, 'e4');
});

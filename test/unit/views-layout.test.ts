/**
 * The views and checkpoint keys of storage/layout.ts agree with the modules that write them
 * (activities/augment.ts, simclr/checkpoint.ts), so `simclr gc` reads back exactly what was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentEpochPrefix, augmentShardKey } from '../../activities/augment';
import { checkpointKey } from '../../simclr/checkpoint';
import {
  checkpointStepKey,
  experimentCheckpointsPrefix,
  experimentOfKey,
  parseViewsId,
  parseViewsKey,
  viewsIdOf,
  viewsPrefix,
} from '../../storage/layout';

test('a views id names its experiment; a legacy one (the bare fingerprint) names none', () => {
  const id = viewsIdOf('0123456789abcdef', 'sweep-1.crop-only');
  assert.equal(id, '0123456789abcdef.sweep-1.crop-only');
  assert.deepEqual(parseViewsId(id), { fingerprint: '0123456789abcdef', experimentId: 'sweep-1.crop-only' });
  assert.deepEqual(parseViewsId('0123456789abcdef'), { fingerprint: '0123456789abcdef' });
  assert.equal(parseViewsId('not-a-views-id'), undefined);
  assert.throws(() => viewsIdOf('xyz', 'e1'), /16 hex digits/);
  assert.throws(() => viewsIdOf('0123456789abcdef', 'a/b'), /without '\/'/);
});

test('the keys the augment activity writes parse back to their dataset, views id and epoch', () => {
  const id = viewsIdOf('0123456789abcdef', 'e1');
  const key = augmentShardKey('ds1', id, 12, 3);
  assert.deepEqual(parseViewsKey(key), { datasetId: 'ds1', viewsId: id, epoch: 12 });
  assert.ok(augmentEpochPrefix('ds1', id, 12).startsWith(viewsPrefix('ds1', id)));
  assert.equal(parseViewsKey('augment/ds1/.blob-tmp-x'), undefined);
  assert.equal(parseViewsKey('datasets/ds1/MANIFEST.json'), undefined);
});

test('checkpoint keys agree with simclr/checkpoint.ts', () => {
  const prefix = experimentCheckpointsPrefix('e1');
  assert.equal(prefix, 'experiments/e1/checkpoints');
  for (const step of [0, 7, 120, 12345678])
    assert.equal(checkpointStepKey(prefix, step), checkpointKey(prefix, step));
  assert.equal(experimentOfKey(`${prefix}/step-00000007/MANIFEST.json`), 'e1');
  assert.equal(experimentOfKey('augment/x/y'), undefined);
});

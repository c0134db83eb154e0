/** Which S3 object keys the source mirror can turn into files under its folder (mirroredPath). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mirroredPath } from '../../activities/dataset-source';
import { DatasetError } from '../../simclr/datasets/source';

test('keys that would escape the mirror folder or collide are DatasetErrors naming the key', () => {
  // AWS S3 stores all of these (MinIO refuses some of them itself).
  for (const key of [
    'src/../evil',
    'src/a/../../evil',
    'src/./a',
    'src//a',
    'src/a/',
    'src/',
    'src//etc/x',
  ]) {
    assert.throws(
      () => mirroredPath('s3://b/src', key, 'src/'),
      (err: Error) => err instanceof DatasetError && err.message.includes(`object key '${key}'`),
      key,
    );
  }
  assert.equal(mirroredPath('s3://b/src', 'src/class-a/img 1.png', 'src/'), 'class-a/img 1.png');
});

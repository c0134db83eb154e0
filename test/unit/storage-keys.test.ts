import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidKeyError } from '../../storage/blob-store';
import { TEMP_MARKER, compareKeys, joinKey, validateKey, validatePrefix } from '../../storage/keys';

describe('storage keys', () => {
  it('accepts relative slash-separated keys', () => {
    for (const k of [
      'a',
      'a/b/c.bin',
      'datasets/abc/shard-00003.bin',
      '.hidden',
      'a/..b',
      'a/b..',
      'é/😀',
      'x'.repeat(255),
    ]) {
      assert.equal(validateKey(k), k);
    }
  });

  it('refuses keys that are empty, absolute, traversing or otherwise unsafe, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /empty key/],
      ['/abs', /relative/],
      ['a//b', /empty path segment/],
      ['a/', /empty path segment/],
      ['../x', /'\.\.' segments/],
      ['a/../../b', /'\.\.' segments/],
      ['a/./b', /'\.' segments/],
      ['a\\b', /backslash/],
      ['a\0b', /NUL/],
      ['a\tb', /control/],
      [`a/${TEMP_MARKER}x`, /reserved/],
      ['x'.repeat(256), /255 bytes/],
      [Array.from({ length: 6 }, () => 'y'.repeat(200)).join('/'), /1024 bytes/],
    ];
    for (const [key, why] of cases) {
      assert.throws(
        () => validateKey(key),
        (err: unknown) => err instanceof InvalidKeyError && why.test(err.message) && err.key === key,
        JSON.stringify(key),
      );
    }
  });

  it('accepts listing prefixes ending in a partial segment or a slash', () => {
    for (const p of ['', 'a', 'a/', 'a/b', 'a/b/', 'checkpoints/step-', 'a/.']) {
      if (p === 'a/.') assert.throws(() => validatePrefix(p), InvalidKeyError);
      else assert.equal(validatePrefix(p), p);
    }
    for (const p of ['/', '/a', 'a//', '../', 'a/../', '..', 'a\\'])
      assert.throws(() => validatePrefix(p), InvalidKeyError, p);
  });

  it('joins parts without doubling slashes', () => {
    assert.equal(joinKey('a/', 'b'), 'a/b');
    assert.equal(joinKey('', 'MANIFEST.json'), 'MANIFEST.json');
    assert.equal(joinKey('a//', 'b/'), 'a/b');
  });

  it('orders keys by UTF-8 bytes, as S3 lists them', () => {
    assert.deepEqual(['😀', '\uff01', 'b', 'a/x', 'a-1'].sort(compareKeys), [
      'a-1',
      'a/x',
      'b',
      '\uff01',
      '😀',
    ]);
  });
});

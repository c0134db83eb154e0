/**
 * The BlobStore contract, one suite run against every store: the filesystem store in a temporary
 * folder, MinIO (a real server from test/helpers/minio.ts), and MinIO seen through a prefix
 * (s3://bucket/prefix via openStore). Store-specific guarantees (symbolic links, temporary files)
 * follow at the end.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { BlobNotFoundError, InvalidKeyError, type BlobStore } from '../../storage/blob-store';
import { FsBlobStore } from '../../storage/fs-store';
import { isCommitted, manifestKey, readManifest, writeManifest } from '../../storage/manifest';
import { MinioBlobStore } from '../../storage/minio-store';
import { openStore } from '../../storage/open';
import { PrefixedStore } from '../../storage/prefixed-store';
import { startTestMinio, type TestMinio } from '../helpers/minio';

const MiB = 1024 * 1024;

/** A deterministic pseudo-random byte stream (AES-CTR keystream), produced chunk by chunk. */
function* generatedChunks(size: number, seed: string, chunk = MiB): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(chunk);
  for (let left = size; left > 0; left -= chunk)
    yield cipher.update(zeros.subarray(0, Math.min(chunk, left)));
}

function generatedStream(size: number, seed: string): Readable {
  return Readable.from(generatedChunks(size, seed), { objectMode: false });
}

function sha256OfGenerated(size: number, seed: string): string {
  const h = createHash('sha256');
  for (const c of generatedChunks(size, seed)) h.update(c);
  return h.digest('hex');
}

async function sha256OfStream(stream: Readable): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: h.digest('hex'), size };
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface StoreUnderTest {
  store: BlobStore;
  teardown(): Promise<void>;
}

const BAD_KEYS = [
  '../x',
  '/abs',
  'a//b',
  'a/../../b',
  '',
  'a/',
  './a',
  'a/./b',
  '..',
  'a\\b',
  'a\0b',
  'a\nb',
];

function blobStoreContract(name: string, setup: () => Promise<StoreUnderTest>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: BlobStore;
    /** Every test works under its own prefix, so tests do not see each other's objects. */
    const area = (): string => `t-${randomUUID().slice(0, 8)}`;

    before(async () => {
      sut = await setup();
      store = sut.store;
    });
    after(() => sut?.teardown());

    it('has a location without credentials', () => {
      assert.match(store.location, /^(file|s3):\/\//);
      assert.doesNotMatch(store.location, /@|secret|password/i);
    });

    it('puts and gets Buffers, Uint8Arrays, strings and empty objects; stat and exists agree', async () => {
      const p = area();
      const t0 = Date.now();
      const bytes = randomBytes(1000);
      await store.put(`${p}/buf.bin`, bytes);
      await store.put(`${p}/u8.bin`, new Uint8Array(bytes.buffer, bytes.byteOffset + 10, 20));
      await store.put(`${p}/text.txt`, 'héllo wörld ✓');
      await store.put(`${p}/empty`, Buffer.alloc(0));
      assert.deepEqual(await store.get(`${p}/buf.bin`), bytes);
      assert.deepEqual(await store.get(`${p}/u8.bin`), bytes.subarray(10, 30));
      assert.equal((await store.get(`${p}/text.txt`)).toString('utf8'), 'héllo wörld ✓');
      assert.equal((await store.get(`${p}/empty`)).length, 0);

      const st = await store.stat(`${p}/text.txt`);
      assert.equal(st.key, `${p}/text.txt`);
      assert.equal(st.size, Buffer.byteLength('héllo wörld ✓'));
      assert.ok(st.modified instanceof Date && !Number.isNaN(st.modified.getTime()));
      // Clock sanity only (S3 keeps seconds): the object was modified around now, not at the epoch.
      assert.ok(Math.abs(st.modified.getTime() - t0) < 60_000, `modified ${st.modified.toISOString()}`);
      assert.equal((await store.stat(`${p}/empty`)).size, 0);
      assert.equal(await store.exists(`${p}/buf.bin`), true);
      assert.equal(await store.exists(`${p}/nope.bin`), false);
      assert.equal(await store.exists(p), false, 'a folder is not an object');
    });

    it('overwrites a key with the new content', async () => {
      const p = area();
      await store.put(`${p}/k`, 'old content, longer than the new');
      await store.put(`${p}/k`, 'new');
      assert.equal((await store.get(`${p}/k`)).toString(), 'new');
      assert.equal((await store.stat(`${p}/k`)).size, 3);
    });

    it('lists every object under a prefix, sorted by the keys’ UTF-8 bytes, with sizes', async () => {
      const p = area();
      // '\uff01' sorts before '😀' in UTF-8 (S3's order) but after it in UTF-16 (JavaScript's default).
      const keys = ['z', 'a-1', 'a/x', 'a/y/deep', 'A', 'b', 'é', '\uff01', '😀', 'ab'];
      for (const [i, k] of keys.entries()) await store.put(`${p}/${k}`, Buffer.alloc(i + 1, 1));
      await store.put(`${p}-sibling/a`, 'not under the prefix');

      const all = await store.list(`${p}/`);
      const expected = ['A', 'a-1', 'a/x', 'a/y/deep', 'ab', 'b', 'z', 'é', '\uff01', '😀'].map(
        (k) => `${p}/${k}`,
      );
      assert.deepEqual(
        all.map((s) => s.key),
        expected,
      );
      for (const s of all) assert.equal(s.size, keys.indexOf(s.key.slice(p.length + 1)) + 1);
      // A partial last segment matches by string prefix, a folder prefix by folder.
      assert.deepEqual(
        (await store.list(`${p}/a`)).map((s) => s.key),
        ['a-1', 'a/x', 'a/y/deep', 'ab'].map((k) => `${p}/${k}`),
      );
      assert.deepEqual(
        (await store.list(`${p}/a/`)).map((s) => s.key),
        ['a/x', 'a/y/deep'].map((k) => `${p}/${k}`),
      );
      assert.deepEqual(await store.list(`${p}/nothing-here/`), []);
      assert.deepEqual(await store.list(`${p}-none`), []);
      // Without '/', the sibling matches too: prefixes are plain string prefixes.
      assert.ok((await store.list(p)).some((s) => s.key === `${p}-sibling/a`));
      const everything = (await store.list('')).map((s) => s.key);
      assert.ok(everything.includes(`${p}/a/y/deep`) && everything.includes(`${p}-sibling/a`));
    });

    it('deletes idempotently', async () => {
      const p = area();
      await store.put(`${p}/k`, 'x');
      await store.put(`${p}/keep`, 'y');
      await store.delete(`${p}/k`);
      assert.equal(await store.exists(`${p}/k`), false);
      await store.delete(`${p}/k`);
      await store.delete(`${p}/never/was/here`);
      assert.deepEqual(
        (await store.list(`${p}/`)).map((s) => s.key),
        [`${p}/keep`],
      );
    });

    it('deletes everything under a prefix and nothing else, returning the count', async () => {
      const p = area();
      for (const k of ['dir/a', 'dir/b/c', 'dir/b/d/e', 'dir2/a', 'dirt']) await store.put(`${p}/${k}`, k);
      assert.equal(await store.deletePrefix(`${p}/dir/`), 3);
      assert.deepEqual(
        (await store.list(`${p}/`)).map((s) => s.key),
        [`${p}/dir2/a`, `${p}/dirt`],
      );
      assert.equal(await store.deletePrefix(`${p}/dir/`), 0);
      // Once the folder is gone its name can be an object key again.
      await store.put(`${p}/dir`, 'now an object');
      assert.equal((await store.get(`${p}/dir`)).toString(), 'now an object');
      assert.equal(await store.deletePrefix(`${p}/`), 3);
      assert.deepEqual(await store.list(`${p}/`), []);
    });

    it('throws BlobNotFoundError for a missing key', async () => {
      const p = area();
      await store.put(`${p}/other`, 'x');
      for (const op of [
        () => store.get(`${p}/missing`),
        () => store.getStream(`${p}/missing`),
        () => store.stat(`${p}/missing`),
        () => store.get(`${p}/other/below`),
        () => store.get(p),
      ]) {
        await assert.rejects(op, (err: unknown) => {
          assert.ok(err instanceof BlobNotFoundError, `expected BlobNotFoundError, got ${String(err)}`);
          assert.equal(err.location, store.location);
          return true;
        });
      }
      await assert.rejects(store.get(`${p}/missing`), (err: BlobNotFoundError) => err.key === `${p}/missing`);
    });

    it('streams a 64 MiB object in and out (compared by sha256, never held whole)', async () => {
      const p = area();
      const size = 64 * MiB + 1000; // not a whole number of parts
      await store.put(`${p}/large.bin`, generatedStream(size, 'large'));
      assert.equal((await store.stat(`${p}/large.bin`)).size, size);
      const back = await sha256OfStream(await store.getStream(`${p}/large.bin`));
      assert.equal(back.size, size);
      assert.equal(back.digest, sha256OfGenerated(size, 'large'));
      await store.delete(`${p}/large.bin`);
    });

    it('keeps the old object when a streamed put fails midway, and leaves nothing behind', async () => {
      const p = area();
      await store.put(`${p}/k`, 'old');
      const failing = Readable.from(
        (function* () {
          yield* generatedChunks(20 * MiB, 'partial'); // past one multipart part
          throw new Error('source broke');
        })(),
      );
      await assert.rejects(store.put(`${p}/k`, failing), /source broke/);
      assert.equal((await store.get(`${p}/k`)).toString(), 'old');
      await assert.rejects(
        store.put(
          `${p}/fresh`,
          Readable.from(
            (function* () {
              yield Buffer.from('x');
              throw new Error('broke again');
            })(),
          ),
        ),
        /broke again/,
      );
      assert.equal(await store.exists(`${p}/fresh`), false);
      assert.deepEqual(
        (await store.list(`${p}/`)).map((s) => s.key),
        [`${p}/k`],
      );
    });

    it('commits by manifest last: a prefix without a manifest is not committed', async () => {
      const p = area();
      const schema = z.object({ shards: z.number().int(), images: z.number().int() });
      await store.put(`${p}/ds/shard-0.bin`, randomBytes(100));
      await store.put(`${p}/ds/shard-1.bin`, randomBytes(100));
      assert.equal(await isCommitted(store, `${p}/ds`), false);
      assert.equal(await readManifest(store, `${p}/ds`, schema), undefined);
      await writeManifest(store, `${p}/ds`, { shards: 2, images: 200 });
      assert.equal(await isCommitted(store, `${p}/ds`), true);
      assert.equal(await isCommitted(store, `${p}/ds/`), true);
      const m = await readManifest(store, `${p}/ds`, schema);
      assert.deepEqual(m, { shards: 2, images: 200 });
      assert.equal(manifestKey(`${p}/ds/`), `${p}/ds/MANIFEST.json`);
      assert.ok(await store.exists(`${p}/ds/MANIFEST.json`));
      // A manifest that does not match its schema is an error naming it, not "absent".
      await assert.rejects(
        readManifest(store, `${p}/ds`, z.object({ shards: z.string() })),
        new RegExp(`${p}/ds/MANIFEST.json.*shards`),
      );
      await store.put(`${p}/bad/MANIFEST.json`, '{not json');
      await assert.rejects(readManifest(store, `${p}/bad`), /MANIFEST\.json.*not valid JSON/);
    });

    it('leaves exactly one complete object when 8 writers race on one key', async () => {
      const p = area();
      const size = 4 * MiB;
      const contents = Array.from({ length: 8 }, (_, i) => `writer-${i}`);
      const digests = new Set(contents.map((seed) => sha256OfGenerated(size, seed)));
      await Promise.all(
        contents.map((seed, i) =>
          // Half the writers send a Buffer, half a stream.
          store.put(
            `${p}/contended.bin`,
            i % 2 === 0 ? Buffer.concat([...generatedChunks(size, seed)]) : generatedStream(size, seed),
          ),
        ),
      );
      const back = await sha256OfStream(await store.getStream(`${p}/contended.bin`));
      assert.equal(back.size, size);
      assert.ok(digests.has(back.digest), 'the object is not any one writer’s complete content');
      assert.deepEqual(
        (await store.list(`${p}/`)).map((s) => [s.key, s.size]),
        [[`${p}/contended.bin`, size]],
      );
    });

    it('leaves one complete object when streamed multipart writers race on one key', async () => {
      const p = area();
      const size = 40 * MiB; // several 16 MiB parts each
      const seeds = ['m-0', 'm-1', 'm-2'];
      await Promise.all(seeds.map((seed) => store.put(`${p}/big.bin`, generatedStream(size, seed))));
      const back = await sha256OfStream(await store.getStream(`${p}/big.bin`));
      assert.equal(back.size, size);
      assert.ok(
        new Set(seeds.map((s) => sha256OfGenerated(size, s))).has(back.digest),
        'parts of different writers were mixed',
      );
      await store.delete(`${p}/big.bin`);
    });

    it('refuses keys that could escape the store (InvalidKeyError) and writes nothing', async () => {
      const before = (await store.list('')).length;
      for (const key of BAD_KEYS) {
        for (const op of [
          () => store.put(key, 'x'),
          () => store.get(key),
          () => store.getStream(key),
          () => store.stat(key),
          () => store.exists(key),
          () => store.delete(key),
        ]) {
          await assert.rejects(op, InvalidKeyError, `key ${JSON.stringify(key)}`);
        }
      }
      for (const prefix of ['../', '/abs', 'a//', 'a/../', '..', 'a\\']) {
        await assert.rejects(() => store.list(prefix), InvalidKeyError, `prefix ${JSON.stringify(prefix)}`);
        await assert.rejects(
          () => store.deletePrefix(prefix),
          InvalidKeyError,
          `prefix ${JSON.stringify(prefix)}`,
        );
      }
      await assert.rejects(() => writeManifest(store, '../up', {}), InvalidKeyError);
      assert.equal((await store.list('')).length, before);
    });
  });
}

// ---------------------------------------------------------------------------------------------------

const tempRoots: string[] = [];
function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'simclr-store-'));
  tempRoots.push(dir);
  return dir;
}
after(() => {
  for (const d of tempRoots) rmSync(d, { recursive: true, force: true });
});

let minio: TestMinio | undefined;
async function sharedMinio(): Promise<TestMinio> {
  minio ??= await startTestMinio();
  return minio;
}
after(() => minio?.stop());

blobStoreContract('FsBlobStore', async () => {
  const root = join(tempRoot(), 'store');
  return { store: new FsBlobStore(root), teardown: async () => {} };
});

blobStoreContract('MinioBlobStore', async () => {
  const m = await sharedMinio();
  return { store: await MinioBlobStore.open(m.storeOptions('contract')), teardown: async () => {} };
});

blobStoreContract('PrefixedStore over MinIO (openStore s3://bucket/prefix)', async () => {
  const m = await sharedMinio();
  const store = await openStore('s3://contract-prefixed/team/a', m.env());
  assert.ok(store instanceof PrefixedStore);
  return { store, teardown: async () => {} };
});

describe('FsBlobStore specifics', () => {
  it('never follows a symbolic link out of the root', async () => {
    const base = tempRoot();
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(root, { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'outside data');
    symlinkSync(outside, join(root, 'escape'));
    symlinkSync(join(outside, 'secret'), join(root, 'secret-link'));
    const store = new FsBlobStore(root);

    await assert.rejects(store.put('escape/x', 'y'), InvalidKeyError);
    await assert.rejects(store.put('escape/deeper/x', 'y'), InvalidKeyError);
    await assert.rejects(store.get('escape/secret'), InvalidKeyError);
    await assert.rejects(store.getStream('escape/secret'), InvalidKeyError);
    await assert.rejects(store.stat('escape/secret'), InvalidKeyError);
    await assert.rejects(store.get('secret-link'), InvalidKeyError);
    await assert.rejects(store.delete('escape/secret'), InvalidKeyError);
    await assert.rejects(store.list('escape/'), InvalidKeyError);
    assert.deepEqual(readdirSync(outside), ['secret'], 'nothing was written or deleted outside the root');
    assert.deepEqual(await store.list(''), [], 'symbolic links are not listed');
    // Overwriting the link itself replaces the link, not its target.
    await store.put('secret-link', 'inside now');
    assert.equal((await store.get('secret-link')).toString(), 'inside now');
    assert.deepEqual(readdirSync(outside), ['secret']);
    assert.equal((await store.get('secret-link')).length, 'inside now'.length);
  });

  it('leaves no temporary files after racing writers', async () => {
    const root = join(tempRoot(), 'root');
    const store = new FsBlobStore(root);
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.put('race/k', Buffer.alloc(MiB, i))));
    assert.deepEqual(readdirSync(join(root, 'race')), ['k']);
    const back = await store.get('race/k');
    assert.ok(Array.from({ length: 8 }, (_, i) => sha256(Buffer.alloc(MiB, i))).includes(sha256(back)));
  });

  it('does not create a missing root on reads, and creates it on the first write', async () => {
    const root = join(tempRoot(), 'not', 'yet');
    const store = new FsBlobStore(root);
    assert.deepEqual(await store.list(''), []);
    await assert.rejects(store.get('a'), BlobNotFoundError);
    assert.equal(await store.exists('a'), false);
    await store.delete('a');
    assert.equal(await store.deletePrefix(''), 0);
    assert.equal(existsSync(root), false);
    await store.put('a/b', 'x');
    assert.equal(existsSync(join(root, 'a', 'b')), true);
    assert.equal(store.location, `file://${root}`);
  });

  it('refuses a key that is both an object and a folder, with a message that says so', async () => {
    const store = new FsBlobStore(join(tempRoot(), 'root'));
    await store.put('x', '1');
    await assert.rejects(store.put('x/y', '2'), /cannot put 'x\/y'.*both an object and the folder/);
    await store.put('f/g', '1');
    await assert.rejects(store.put('f', '2'), /cannot put 'f'.*both an object and the folder/);
    await store.delete('f'); // a folder is not an object: no-op
    assert.equal((await store.get('f/g')).toString(), '1');
  });
});

describe('PrefixedStore', () => {
  it('keeps keys under its prefix in the inner store and relative keys outside', async () => {
    const inner = new FsBlobStore(join(tempRoot(), 'root'));
    const store = new PrefixedStore(inner, 'team/a/');
    assert.equal(store.location, `${inner.location}/team/a`);
    await store.put('x/y', '1');
    await inner.put('team/ab', 'not mine');
    assert.equal((await inner.get('team/a/x/y')).toString(), '1');
    assert.deepEqual(
      (await store.list('')).map((s) => s.key),
      ['x/y'],
    );
    assert.equal((await store.stat('x/y')).key, 'x/y');
    await assert.rejects(
      store.get('nope'),
      (err: BlobNotFoundError) =>
        err instanceof BlobNotFoundError && err.key === 'nope' && err.location === store.location,
    );
    assert.equal(await store.deletePrefix(''), 1);
    assert.equal((await inner.get('team/ab')).toString(), 'not mine');
    assert.throws(() => new PrefixedStore(inner, '../up'), InvalidKeyError);
  });
});

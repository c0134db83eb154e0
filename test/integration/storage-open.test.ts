/**
 * openStore: one URI names a store; S3 credentials come from the environment only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { BlobNotFoundError, InvalidKeyError } from '../../storage/blob-store';
import { FsBlobStore } from '../../storage/fs-store';
import { MinioBlobStore, minioOptionsFromEnv } from '../../storage/minio-store';
import { openStore } from '../../storage/open';
import { PrefixedStore } from '../../storage/prefixed-store';
import { startTestMinio, type TestMinio } from '../helpers/minio';

describe('openStore', () => {
  let minio: TestMinio;
  let dir: string;
  before(async () => {
    minio = await startTestMinio();
    dir = mkdtempSync(join(tmpdir(), 'simclr-open-'));
  });
  after(async () => {
    await minio?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens a plain path (absolute or relative) as a filesystem store', async () => {
    const abs = await openStore(join(dir, 'plain'));
    assert.ok(abs instanceof FsBlobStore);
    assert.equal(abs.root, join(dir, 'plain'));
    await abs.put('k', 'v');
    assert.equal((await (await openStore(join(dir, 'plain'))).get('k')).toString(), 'v');
    const rel = await openStore('relative/store');
    assert.ok(rel instanceof FsBlobStore);
    assert.equal(rel.root, resolve('relative/store'));
  });

  it('opens file:///path as a filesystem store on that folder', async () => {
    const uri = pathToFileURL(join(dir, 'by url')).href;
    const store = await openStore(uri);
    assert.ok(store instanceof FsBlobStore);
    assert.equal(store.root, join(dir, 'by url'));
    assert.equal(store.location, uri);
    await store.put('a/b', 'x');
    assert.equal((await new FsBlobStore(join(dir, 'by url')).get('a/b')).toString(), 'x');
    await assert.rejects(openStore('file://host/not-local'), /invalid file URI/);
  });

  it('opens s3://bucket from SIMCLR_S3_* and creates the bucket', async () => {
    const store = await openStore('s3://opened', minio.env());
    assert.ok(store instanceof MinioBlobStore);
    assert.equal(store.location, 's3://opened');
    await store.put('k', 'v');
    const again = await MinioBlobStore.open(minio.storeOptions('opened'));
    assert.equal((await again.get('k')).toString(), 'v');
  });

  it('opens s3://bucket/prefix as a PrefixedStore whose keys live under the prefix', async () => {
    const store = await openStore('s3://shared/team-a/run1/', minio.env());
    assert.ok(store instanceof PrefixedStore);
    assert.equal(store.location, 's3://shared/team-a/run1');
    await store.put('x/y.bin', 'data');
    const raw = await MinioBlobStore.open(minio.storeOptions('shared'));
    assert.deepEqual(
      (await raw.list('')).map((s) => s.key),
      ['team-a/run1/x/y.bin'],
    );
    assert.deepEqual(
      (await store.list('')).map((s) => s.key),
      ['x/y.bin'],
    );
    await assert.rejects(store.get('missing'), BlobNotFoundError);
    await assert.rejects(openStore('s3://shared/../escape', minio.env()), InvalidKeyError);
  });

  it('names the missing environment variable', async () => {
    const full = minio.env();
    for (const name of ['SIMCLR_S3_ENDPOINT', 'SIMCLR_S3_ACCESS_KEY', 'SIMCLR_S3_SECRET_KEY']) {
      const env = { ...full };
      delete env[name as keyof typeof env];
      await assert.rejects(openStore('s3://bucket', env), new RegExp(`${name} is not set`));
    }
    assert.throws(() => minioOptionsFromEnv(undefined, full), /SIMCLR_S3_BUCKET is not set/);
    assert.equal(minioOptionsFromEnv(undefined, { ...full, SIMCLR_S3_BUCKET: 'b1' }).bucket, 'b1');
  });

  it('reports wrong credentials and an unreachable endpoint clearly, without the secret', async () => {
    const wrong = { ...minio.env(), SIMCLR_S3_SECRET_KEY: 'definitely-wrong-secret' };
    await assert.rejects(openStore('s3://bucket', wrong), (err: Error) => {
      assert.match(
        err.message,
        /cannot open store s3:\/\/bucket: cannot open bucket 'bucket' at http:\/\/127\.0\.0\.1:\d+/,
      );
      assert.ok(!err.message.includes('definitely-wrong-secret') && !err.message.includes(minio.secretKey));
      return true;
    });
    // Port 1 is privileged and nothing listens on it here.
    const unreachable = { ...minio.env(), SIMCLR_S3_ENDPOINT: 'http://127.0.0.1:1' };
    await assert.rejects(
      openStore('s3://bucket', unreachable),
      /cannot open bucket 'bucket' at http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
  });

  it('refuses malformed URIs with a message that says what is expected', async () => {
    await assert.rejects(openStore(''), /empty store location/);
    await assert.rejects(openStore('gs://bucket'), /unsupported store URI 'gs:\/\/bucket'/);
    await assert.rejects(
      openStore('s3://Bad_Bucket', minio.env()),
      /'Bad_Bucket' is not a valid bucket name/,
    );
    await assert.rejects(openStore('s3://', minio.env()), /not a valid bucket name/);
    await assert.rejects(
      openStore('s3://bucket', { ...minio.env(), SIMCLR_S3_ENDPOINT: 'ftp://x' }),
      /scheme must be http or https/,
    );
  });
});

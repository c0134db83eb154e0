/**
 * The S3 source mirror (activities/dataset-source.ts) against a real MinIO: folder markers are left
 * out, a key that cannot be a file fails as a DatasetError naming it before anything is written,
 * concurrent mirrors of one source share the work without clobbering each other, and a mirror cut
 * short (MinIO stopped under it) is resumed by the next attempt, which fetches only what is missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { mirrorS3 } from '../../activities/dataset-source';
import { startMinio, type MinioProcess } from '../../infra/minio';
import { DatasetError } from '../../simclr/datasets/source';

let dir: string;
let minio: MinioProcess;
let client: Client;
const savedEnv = { ...process.env };
const accessKey = `test-${randomBytes(4).toString('hex')}`;
const secretKey = randomBytes(18).toString('base64url');

function start(port?: number): Promise<MinioProcess> {
  return startMinio({
    dataDir: join(dir, 'data'),
    logFile: join(dir, 'minio.log'),
    accessKey,
    secretKey,
    port,
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simclr-mirror-'));
  minio = await start();
  const u = new URL(minio.endpoint);
  // The raw client: it writes keys (folder markers, backslashes) that MinioBlobStore refuses to.
  client = new Client({ endPoint: u.hostname, port: Number(u.port), useSSL: false, accessKey, secretKey });
  Object.assign(process.env, {
    SIMCLR_HOME: join(dir, 'home'),
    SIMCLR_S3_ENDPOINT: minio.endpoint,
    SIMCLR_S3_ACCESS_KEY: accessKey,
    SIMCLR_S3_SECRET_KEY: secretKey,
  });
});

after(async () => {
  await minio?.stop();
  process.env = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

/** A bucket holding `objects` (key → bytes). */
async function bucketWith(bucket: string, objects: Record<string, Buffer>): Promise<void> {
  await client.makeBucket(bucket, 'us-east-1');
  for (const [key, data] of Object.entries(objects)) await client.putObject(bucket, key, data, data.length);
}

function sources(): string[] {
  const root = join(dir, 'home', 'cache', 'sources');
  return existsSync(root) ? readdirSync(root) : [];
}

/** Every file under `root`, relative, sorted. */
function filesUnder(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...filesUnder(root, p));
    else out.push(p);
  }
  return out.sort();
}

function numbered(n: number, bytes: number): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (let i = 0; i < n; i++)
    out[`src/class-${i % 3}/img-${String(i).padStart(4, '0')}.bin`] = randomBytes(bytes);
  return out;
}

test('folder markers (zero-byte "dir/" objects) are skipped, not mirrored or failed on', async () => {
  const files = { 'src/a/one.bin': randomBytes(10), 'src/b/two.bin': randomBytes(20) };
  await bucketWith('markers', { 'src/': Buffer.alloc(0), 'src/a/': Buffer.alloc(0), ...files });
  const m = await mirrorS3('s3://markers/src');
  assert.deepEqual(m.mirror, { downloaded: 2, skipped: 0, folderMarkers: 2 });
  assert.deepEqual(filesUnder(m.localPath), ['.complete', 'a/one.bin', 'b/two.bin']);
  assert.deepEqual(readFileSync(join(m.localPath, 'a/one.bin')), files['src/a/one.bin']);
});

test('a key that cannot be a file is a DatasetError naming it, before anything is written', async () => {
  await bucketWith('badkeys', { 'src/ok.bin': randomBytes(10), 'src/x\\y.bin': randomBytes(10) });
  const before = sources();
  await assert.rejects(mirrorS3('s3://badkeys/src'), (err: Error) => {
    assert.ok(err instanceof DatasetError, String(err));
    assert.match(err.message, /object key 'src\/x\\y\.bin' cannot be mirrored to a file: backslashes/);
    return true;
  });
  assert.deepEqual(sources(), before, 'no mirror folder was started');
});

test('concurrent mirrors of one source: one complete folder, nothing left over', async () => {
  const objects = numbered(60, 2048);
  await bucketWith('concurrent', objects);
  const results = await Promise.all([1, 2, 3].map(() => mirrorS3('s3://concurrent/src')));
  const { localPath } = results[0];
  assert.ok(results.every((r) => r.localPath === localPath));
  const files = filesUnder(localPath);
  assert.deepEqual(files, ['.complete', ...Object.keys(objects).map((k) => k.slice('src/'.length))].sort());
  for (const [key, data] of Object.entries(objects))
    assert.deepEqual(readFileSync(join(localPath, key.slice('src/'.length))), data, key);
  assert.ok(!existsSync(`${localPath}.partial`), 'no partial folder left');
  assert.ok(
    sources().every((name) => !name.includes('.partial') && !name.includes('.part-')),
    sources().join(' '),
  );
});

test('a mirror cut short by MinIO stopping is resumed: the retry fetches only what is missing', async () => {
  const objects = numbered(400, 16 * 1024);
  await bucketWith('resume', objects);
  const first = mirrorS3('s3://resume/src');
  const firstFailed = first.then(
    () => false,
    () => true,
  );
  // Wait until some objects are mirrored, then take the store away under it.
  const root = join(dir, 'home', 'cache', 'sources');
  const partial = () => sources().find((n) => n.endsWith('.partial'));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const p = partial();
    if (p && filesUnder(join(root, p)).filter((f) => !f.includes('.part-')).length >= 20) break;
    assert.ok(Date.now() < deadline, 'the mirror wrote no partial folder within 120 s');
    await new Promise((r) => setTimeout(r, 5));
  }
  const port = minio.port;
  await minio.stop();
  assert.ok(await firstFailed, 'the first attempt fails once MinIO is gone');
  const kept = filesUnder(join(root, partial()!)).filter((f) => !f.includes('.part-')).length;
  assert.ok(kept >= 20 && kept < 400, `${kept} objects kept by the failed attempt`);

  minio = await start(port);
  const second = await mirrorS3('s3://resume/src');
  assert.equal(second.mirror.skipped, kept, 'what the first attempt had fetched is kept');
  assert.equal(second.mirror.downloaded, 400 - kept);
  for (const [key, data] of Object.entries(objects))
    assert.deepEqual(readFileSync(join(second.localPath, key.slice('src/'.length))), data, key);
  assert.ok(
    filesUnder(second.localPath).every((f) => !f.includes('.part-')),
    'no temporary file left',
  );
});

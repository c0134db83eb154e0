/**
 * Failure path 3 (issue 8): everything about the data that can be known before sharding is checked by
 * inspectDataset, and each bad input fails there as a non-retryable failure of a named error type whose
 * message names the file or the config field. Also the readers' own errors (IDX, CIFAR, shards) and the
 * label and split code at sizes where spreading an array into a call overflows the stack.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ApplicationFailure } from '@temporalio/common';
import { parseExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import { inspectDataset } from '../../activities/dataset';
import { CorruptShardError, DatasetError } from '../../contracts/errors';
import { parseCifarBatch } from '../../simclr/datasets/cifar';
import { parseIdx } from '../../simclr/datasets/idx';
import { decodeShard, encodeShard } from '../../simclr/datasets/shard-format';
import { maxLabel, openSource } from '../../simclr/datasets/source';
import { labelFractionSubset, trainTestSplit } from '../../simclr/datasets/splits';

let work: string;
const savedEnv = { ...process.env };

before(() => {
  work = mkdtempSync(join(tmpdir(), 'simclr-inspect-'));
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

function configFor(source: string, format: 'auto' | 'folder' | 'idx' | 'cifar10' = 'auto', batchSize = 2) {
  return parseExperiment(
    {
      name: 'inspect',
      seed: 1,
      dataset: { source, format, imageSize: 8, channels: 1, shardSize: 8 },
      model: { encoder: 'resnet-mini' },
      pretrain: { batchSize },
    },
    'inspect-dataset test',
  );
}

/** inspectDataset must reject with a non-retryable DatasetError whose message matches `pattern`. */
async function rejectsWith(config: ExperimentConfig, pattern: RegExp): Promise<void> {
  await assert.rejects(inspectDataset({ experimentId: 'inspect', config }), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, 'DatasetError');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, pattern);
    return true;
  });
}

async function png(path: string, shade: number): Promise<void> {
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: shade, g: 0, b: 0 } } })
    .png()
    .toFile(path);
}

/** An IDX file: magic 00 00 08 <ndim>, big-endian sizes, then the bytes. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** An MNIST-style folder with `train` and `test` images of 1×1 pixel and labels `label(i)`. */
function idxFolder(name: string, train: number, test: number, label = (i: number) => i % 10): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [prefix, n] of [
    ['train', train],
    ['t10k', test],
  ] as const) {
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idx([n, 1, 1], new Uint8Array(n)));
    writeFileSync(
      join(dir, `${prefix}-labels-idx1-ubyte`),
      idx(
        [n],
        Uint8Array.from({ length: n }, (_, i) => label(i)),
      ),
    );
  }
  return dir;
}

describe('inspectDataset fails fast, naming the problem', () => {
  it('an unlabelled folder (images, no class folders): evaluation needs labels', async () => {
    const flat = join(work, 'flat');
    mkdirSync(flat);
    for (let i = 0; i < 10; i++) await png(join(flat, `img-${i}.png`), 20 * i);
    await rejectsWith(configFor(flat), /dataset\.source: '.*flat' has no labels \(no class folders\)/);
  });

  it('an empty test split: evaluation scores on it', async () => {
    // Three classes of one image each: a single-image class stays in train, so test is empty.
    const tiny = join(work, 'tiny');
    for (const c of ['a', 'b', 'c']) {
      mkdirSync(join(tiny, c), { recursive: true });
      await png(join(tiny, c, 'only.png'), c.charCodeAt(0));
    }
    await rejectsWith(
      configFor(tiny),
      /dataset\.source: '.*tiny' has an empty test split.*dataset\.testFraction/,
    );
    await rejectsWith(
      configFor(idxFolder('idx-no-test', 20, 0)),
      /has an empty test split.*test file holds no images/,
    );
  });

  it('every problem at once, one per line', async () => {
    const flat = join(work, 'flat-few');
    mkdirSync(flat);
    await png(join(flat, 'one.png'), 1);
    await rejectsWith(
      configFor(flat, 'folder', 4),
      /:\n {2}- has 1 training images.*\n {2}- has no labels.*\n {2}- has an empty test split/,
    );
  });

  it('a source path that is a file, whatever the format', async () => {
    const file = join(work, 'images.zip');
    writeFileSync(file, 'PK');
    for (const format of ['auto', 'folder', 'idx', 'cifar10'] as const) {
      await rejectsWith(configFor(file, format), /dataset\.source: '.*images\.zip' is a file, not a folder/);
    }
  });

  it('malformed IDX files name the file', async () => {
    const badMagic = idxFolder('idx-bad-magic', 20, 5);
    writeFileSync(join(badMagic, 'train-images-idx3-ubyte'), Buffer.from([1, 2, 3, 4, 0, 0, 0, 0]));
    await rejectsWith(
      configFor(badMagic, 'idx'),
      /train-images-idx3-ubyte: not an IDX file \(bad magic 01 02 03 04/,
    );

    const truncated = idxFolder('idx-truncated', 20, 5);
    writeFileSync(join(truncated, 't10k-images-idx3-ubyte'), Buffer.from([0, 0, 8, 3, 0, 0]));
    await rejectsWith(configFor(truncated), /t10k-images-idx3-ubyte: IDX header truncated/);

    const mismatch = idxFolder('idx-mismatch', 20, 5);
    writeFileSync(join(mismatch, 'train-labels-idx1-ubyte'), idx([19], new Uint8Array(19)));
    await rejectsWith(
      configFor(mismatch),
      /train-images-idx3-ubyte has 20 images but .*train-labels-idx1-ubyte has 19 labels/,
    );

    const gz = idxFolder('idx-bad-gzip', 20, 5);
    rmSync(join(gz, 'train-images-idx3-ubyte'));
    writeFileSync(join(gz, 'train-images-idx3-ubyte.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    await rejectsWith(configFor(gz, 'idx'), /train-images-idx3-ubyte\.gz: not a valid gzip file/);

    const missing = join(work, 'idx-missing');
    mkdirSync(missing);
    writeFileSync(join(missing, 'README'), 'the files are elsewhere');
    await rejectsWith(configFor(missing, 'idx'), /idx-missing: no IDX file train-images-idx3-ubyte/);
  });

  it('malformed CIFAR-10 batches name the file', async () => {
    const dir = join(work, 'cifar-bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'data_batch_1.bin'), new Uint8Array(3073 * 2));
    writeFileSync(join(dir, 'test_batch.bin'), new Uint8Array(100));
    await rejectsWith(
      configFor(dir, 'cifar10'),
      /test_batch\.bin: 100 bytes is not a whole number of CIFAR-10 records/,
    );
    const record = new Uint8Array(3073);
    record[0] = 12;
    writeFileSync(join(dir, 'test_batch.bin'), record);
    await rejectsWith(configFor(dir, 'cifar10'), /test_batch\.bin: record 0 has label 12, outside 0\.\.9/);
  });

  it('a good source passes and is planned', async () => {
    const plan = await inspectDataset({
      experimentId: 'inspect',
      config: configFor(idxFolder('idx-good', 20, 5)),
    });
    assert.equal(plan.format, 'idx');
    assert.deepEqual(plan.splits.train, { count: 20, shards: 3 });
    assert.equal(plan.classNames.length, 10);
  });
});

describe('the readers throw typed errors', () => {
  it('IDX and CIFAR parse errors are DatasetErrors', () => {
    assert.throws(
      () => parseIdx(new Uint8Array(2), 'x.idx'),
      (e) => e instanceof DatasetError && /x\.idx/.test(e.message),
    );
    assert.throws(
      () => parseCifarBatch(new Uint8Array(5), 'b.bin'),
      (e) => e instanceof DatasetError && /b\.bin/.test(e.message),
    );
  });

  it('a shard with a flipped byte is a CorruptShardError naming its key', () => {
    const bytes = encodeShard({
      count: 2,
      shape: { height: 2, width: 2, channels: 1 },
      pixels: new Uint8Array(8),
    });
    bytes[bytes.length - 1] ^= 0xff;
    assert.throws(
      () => decodeShard(bytes, 'datasets/d/train/shard-00000.bin'),
      (e) => e instanceof CorruptShardError && /shard-00000\.bin: shard checksum mismatch/.test(e.message),
    );
    assert.throws(
      () => decodeShard(bytes.subarray(0, 10), 'k'),
      (e) => e instanceof CorruptShardError,
    );
  });
});

describe('labels and splits at sizes that overflow a spread call', () => {
  const N = 300_000;

  it('an IDX source with 300k labels opens (Math.max(...labels) overflowed the stack)', async () => {
    const labels = Uint8Array.from({ length: N }, (_, i) => i % 7);
    assert.equal(maxLabel(labels), 6);
    assert.equal(maxLabel(new Int32Array(0)), -1);
    const dir = idxFolder('idx-large', N, 10, (i) => i % 7);
    const source = await openSource(dir, configFor(dir).dataset, 1);
    assert.equal(source.counts.train, N);
    assert.equal(source.classNames.length, 7);
  });

  it('train/test split and label-fraction subsets of 300k images', () => {
    const split = trainTestSplit(N, 0.2, 1);
    assert.equal(split.train.length + split.test.length, N);
    assert.equal(labelFractionSubset(new Int32Array(N), 1, 1).length, N);
  });
});

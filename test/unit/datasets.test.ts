import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { findIdxFiles, parseIdx, readIdxDataset, readIdxImages } from '../../simclr/datasets/idx';
import {
  cifar10Files,
  parseCifarBatch,
  readCifarBatches,
  readCifarClassNames,
} from '../../simclr/datasets/cifar';
import { listImageFolder, UNLABELLED } from '../../simclr/datasets/folder';
import { decodeImage } from '../../simclr/datasets/decode';
import { decodeShard, encodeShard, SHARD_HEADER_BYTES } from '../../simclr/datasets/shard-format';
import { classBalancedLimit, labelFractionSubset, trainTestSplit } from '../../simclr/datasets/splits';

const FASHION = '/usr/share/datasets/fashion-mnist';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'simclr-datasets-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function histogram(labels: ArrayLike<number>, classes: number): number[] {
  const h = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
}

describe('IDX (Fashion-MNIST)', () => {
  test('reads the real train and test files: counts, 28x28x1, 6000 / 1000 images per class', async () => {
    const files = findIdxFiles(FASHION);
    const train = await readIdxDataset(files.train.images, files.train.labels);
    const testSplit = await readIdxDataset(files.test.images, files.test.labels);
    assert.equal(train.count, 60000);
    assert.equal(testSplit.count, 10000);
    assert.deepEqual(train.shape, { height: 28, width: 28, channels: 1 });
    assert.equal(train.pixels.length, 60000 * 784);
    assert.deepEqual(histogram(train.labels, 10), new Array(10).fill(6000));
    assert.deepEqual(histogram(testSplit.labels, 10), new Array(10).fill(1000));
    // Real images, not zeros: mean intensity of Fashion-MNIST is ≈ 72.9 / 255.
    let sum = 0;
    for (let i = 0; i < 784 * 1000; i++) sum += train.pixels[i];
    const mean = sum / (784 * 1000);
    assert.ok(mean > 60 && mean < 85, `mean pixel ${mean}`);
  });

  test('bad magic, wrong rank and truncated data are errors naming the file', async () => {
    const bad = join(dir, 'bad-images-idx3-ubyte');
    writeFileSync(bad, Buffer.from([0x12, 0x34, 0x08, 0x03, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7]));
    await assert.rejects(
      readIdxImages(bad),
      (e: Error) => e.message.includes(bad) && /bad magic/.test(e.message),
    );
    const badGz = join(dir, 'bad-gz-images-idx3-ubyte.gz');
    writeFileSync(badGz, gzipSync(Buffer.from('hello world, not idx')));
    await assert.rejects(
      readIdxImages(badGz),
      (e: Error) => e.message.includes(badGz) && /bad magic/.test(e.message),
    );
    const labels = Buffer.from([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]);
    assert.throws(
      () => parseIdx(labels, 'labels.idx', 3),
      /labels\.idx: IDX file has 1 dimensions, expected 3/,
    );
    assert.throws(
      () => parseIdx(labels.subarray(0, 10), 'short.idx'),
      /short\.idx: .*need 3 data bytes but the file has 2/,
    );
  });
});

describe('CIFAR-10 binary', () => {
  /** A record: label, then R plane, G plane, B plane with values derived from (image, channel, pixel). */
  function record(image: number, label: number): Buffer {
    const b = Buffer.alloc(3073);
    b[0] = label;
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 1024; p++) b[1 + c * 1024 + p] = (image * 31 + c * 7 + p) & 0xff;
    return b;
  }

  test('converts CHW records to HWC and keeps labels; meta names; batch files in order', async () => {
    const root = join(dir, 'cifar', 'cifar-10-batches-bin');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'data_batch_1.bin'), Buffer.concat([record(0, 3), record(1, 9)]));
    writeFileSync(join(root, 'data_batch_2.bin'), Buffer.concat([record(2, 0)]));
    writeFileSync(join(root, 'test_batch.bin'), Buffer.concat([record(3, 5)]));
    const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    writeFileSync(join(root, 'batches.meta.txt'), names.join('\n') + '\n\n');
    const files = cifar10Files(join(dir, 'cifar'));
    assert.deepEqual(files.train, [join(root, 'data_batch_1.bin'), join(root, 'data_batch_2.bin')]);
    const train = await readCifarBatches(files.train);
    assert.equal(train.count, 3);
    assert.deepEqual(train.shape, { height: 32, width: 32, channels: 3 });
    assert.deepEqual(Array.from(train.labels), [3, 9, 0]);
    for (let img = 0; img < 3; img++) {
      for (const p of [0, 1, 33, 1023]) {
        for (let c = 0; c < 3; c++)
          assert.equal(train.pixels[img * 3072 + p * 3 + c], (img * 31 + c * 7 + p) & 0xff);
      }
    }
    assert.deepEqual(await readCifarClassNames(files.classNames!), names);
  });

  test('wrong size and out-of-range labels are errors naming the file', () => {
    assert.throws(
      () => parseCifarBatch(Buffer.alloc(3072), 'x/data_batch_1.bin'),
      /x\/data_batch_1\.bin: 3072 bytes is not a whole number/,
    );
    assert.throws(() => parseCifarBatch(record(0, 10), 'y.bin'), /y\.bin: record 0 has label 10/);
    assert.throws(() => cifar10Files(join(dir, 'nowhere')), /no CIFAR-10 training batch/);
  });
});

/** PNG chunks written by hand, so the test files say exactly what the test needs. */
function png(width: number, height: number, bitDepth: 8 | 16, scanlines: Buffer): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(scanlines)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 16-bit RGB PNG, every pixel `rgb` (16-bit values). */
function png16(width: number, height: number, rgb: [number, number, number]): Buffer {
  const row = Buffer.alloc(1 + width * 6); // filter byte 0, then big-endian samples
  for (let x = 0; x < width; x++) rgb.forEach((v, c) => row.writeUInt16BE(v, 1 + x * 6 + c * 2));
  return png(width, height, 16, Buffer.concat(Array.from({ length: height }, () => row)));
}

/** A PNG whose IHDR declares width × height but whose data is tiny: a decompression-bomb header. */
function pngWithHeader(width: number, height: number): Buffer {
  return png(width, height, 8, Buffer.alloc(64));
}

const solid = (w: number, h: number, rgb: [number, number, number]) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });

describe('image folders and decoding (real files made with sharp)', () => {
  test('class folders are labels in sorted order; hidden and non-image files skipped; flat = unlabelled', async () => {
    const root = join(dir, 'folder');
    for (const cls of ['zebra', 'Ant', 'cat']) mkdirSync(join(root, cls, 'nested'), { recursive: true });
    mkdirSync(join(root, 'empty'));
    mkdirSync(join(root, '.hidden'));
    const png = await solid(4, 4, [10, 20, 30]).png().toBuffer();
    for (const f of [
      'zebra/b.png',
      'zebra/a.PNG',
      'zebra/nested/c.png',
      'Ant/x.jpg',
      'cat/1.png',
      '.hidden/h.png',
      'cat/.h.png',
      'cat/notes.txt',
    ]) {
      writeFileSync(join(root, f), png);
    }
    // A linked-in class folder is followed; a broken link is skipped.
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'd.png'), png);
    symlinkSync(elsewhere, join(root, 'dog'));
    symlinkSync(join(dir, 'missing.png'), join(root, 'cat', 'broken.png'));
    const listing = await listImageFolder(root);
    assert.deepEqual(listing.classNames, ['Ant', 'cat', 'dog', 'zebra']);
    assert.deepEqual(
      listing.entries.map((e) => [e.path.slice(root.length + 1), e.label]),
      [
        ['Ant/x.jpg', 0],
        ['cat/1.png', 1],
        ['dog/d.png', 2],
        ['zebra/a.PNG', 3],
        ['zebra/b.png', 3],
        ['zebra/nested/c.png', 3],
      ],
    );
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    for (const f of ['b.webp', 'a.png', 'c.jpeg']) writeFileSync(join(flat, f), png);
    const f2 = await listImageFolder(flat);
    assert.deepEqual(f2.classNames, []);
    assert.deepEqual(
      f2.entries.map((e) => [e.path.slice(flat.length + 1), e.label]),
      [
        ['a.png', UNLABELLED],
        ['b.webp', UNLABELLED],
        ['c.jpeg', UNLABELLED],
      ],
    );
    writeFileSync(join(root, 'stray.png'), png);
    await assert.rejects(listImageFolder(root), /mixes class folders .*\(stray\.png/);
    await assert.rejects(listImageFolder(join(root, 'empty')), /contains no images/);
  });

  test('PNG: exact pixels at the same size; resize is shorter side + centre crop; grayscale output', async () => {
    const file = join(dir, 'two-tone.png');
    // 8 wide × 4 high: left quarter red, rest green. cover → 4×4 centre crop = columns 2..5, all green.
    const raw = Buffer.alloc(8 * 4 * 3);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 8; x++) raw.set(x < 2 ? [255, 0, 0] : [0, 255, 0], (y * 8 + x) * 3);
    await sharp(raw, { raw: { width: 8, height: 4, channels: 3 } })
      .png()
      .toFile(file);
    const same = await decodeImage(file, { size: 4, channels: 3 });
    assert.equal(same.length, 48);
    for (let i = 0; i < 16; i++) assert.deepEqual(Array.from(same.subarray(3 * i, 3 * i + 3)), [0, 255, 0]);
    const gray = await decodeImage(readFileSync(file), { size: 4, channels: 1, name: 'in-memory.png' });
    assert.equal(gray.length, 16);
    // libvips' b-w is colorimetric: relative luminance of sRGB green (Y = 0.7152) re-encoded with the sRGB curve ≈ 220.
    assert.ok(Math.abs(gray[5] - 220) <= 2, `luminance of green ${gray[5]}`);
  });

  test('JPEG with EXIF orientation 6 is rotated upright', async () => {
    // Stored 16 wide × 8 high, left half red and right half blue; orientation 6 = rotate 90° clockwise
    // to display, giving 8 × 16 with red on top. Decoded to 16×16 (cover): top rows red, bottom rows blue.
    const raw = Buffer.alloc(16 * 8 * 3);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 16; x++) raw.set(x < 8 ? [255, 0, 0] : [0, 0, 255], (y * 16 + x) * 3);
    const file = join(dir, 'rotated.jpg');
    await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(file);
    assert.equal((await sharp(file).metadata()).orientation, 6);
    const px = await decodeImage(file, { size: 16, channels: 3 });
    const at = (x: number, y: number) => Array.from(px.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
    const isRed = (p: number[]) => p[0] > 200 && p[2] < 60;
    const isBlue = (p: number[]) => p[2] > 200 && p[0] < 60;
    assert.ok(isRed(at(1, 1)) && isRed(at(14, 1)), `top row should be red: ${at(1, 1)} ${at(14, 1)}`);
    assert.ok(
      isBlue(at(1, 14)) && isBlue(at(14, 14)),
      `bottom row should be blue: ${at(1, 14)} ${at(14, 14)}`,
    );
  });

  test('CMYK JPEG, 16-bit PNG and RGBA PNG become 8-bit sRGB', async () => {
    const cmyk = join(dir, 'cmyk.jpg');
    await solid(8, 8, [200, 40, 40]).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(cmyk);
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const c = await decodeImage(cmyk, { size: 8, channels: 3 });
    assert.equal(c.length, 8 * 8 * 3);
    assert.ok(c[0] > 150 && c[1] < 90 && c[2] < 90, `CMYK red decoded as ${Array.from(c.subarray(0, 3))}`);

    const deep = join(dir, 'deep.png');
    writeFileSync(deep, png16(4, 4, [65535, 32896, 0x00ff]));
    assert.equal((await sharp(deep).metadata()).depth, 'ushort');
    const d = await decodeImage(deep, { size: 4, channels: 3 });
    assert.deepEqual(
      Array.from(d.subarray(0, 3)).map((v, i) => Math.abs(v - [255, 128, 0][i]) <= 1),
      [true, true, true],
      `16-bit decoded as ${Array.from(d.subarray(0, 3))}`,
    );

    const rgba = join(dir, 'alpha.png');
    const px = Buffer.alloc(4 * 4 * 4);
    for (let i = 0; i < 16; i++) px.set(i < 8 ? [200, 100, 50, 255] : [200, 100, 50, 0], i * 4);
    await sharp(px, { raw: { width: 4, height: 4, channels: 4 } })
      .png()
      .toFile(rgba);
    const a = await decodeImage(rgba, { size: 4, channels: 3 });
    assert.equal(a.length, 48);
    assert.deepEqual(Array.from(a.subarray(0, 3)), [200, 100, 50]); // opaque row
    assert.deepEqual(Array.from(a.subarray(45, 48)), [0, 0, 0]); // transparent → black
  });

  test('truncated, garbage and decompression-bomb files are rejected with an error naming the file', async () => {
    const good = await solid(64, 64, [1, 2, 3]).jpeg().toBuffer();
    const truncated = join(dir, 'truncated.jpg');
    writeFileSync(truncated, good.subarray(0, Math.floor(good.length / 2)));
    await assert.rejects(decodeImage(truncated, { size: 8, channels: 3 }), (e: Error) =>
      e.message.startsWith(`cannot decode image ${truncated}:`),
    );
    const garbage = join(dir, 'garbage.png');
    writeFileSync(garbage, Buffer.from('this is not an image at all'));
    await assert.rejects(decodeImage(garbage, { size: 8, channels: 3 }), (e: Error) =>
      e.message.includes(garbage),
    );
    const bomb = join(dir, 'bomb.png');
    writeFileSync(bomb, pngWithHeader(100000, 100000));
    await assert.rejects(
      decodeImage(bomb, { size: 8, channels: 3 }),
      (e: Error) => e.message.includes(bomb) && /pixel limit/i.test(e.message),
    );
    // The limit is the option's: a 100×100 header passes the default and fails a 5000-pixel limit.
    await assert.rejects(
      decodeImage(await solid(100, 100, [0, 0, 0]).png().toBuffer(), {
        size: 8,
        channels: 3,
        maxInputPixels: 5000,
        name: 'small-limit',
      }),
      /small-limit: .*pixel limit/i,
    );
  });
});

describe('shard format', () => {
  const shape = { height: 3, width: 2, channels: 3 as const };
  const count = 5;
  const pixels = Uint8Array.from({ length: count * 18 }, (_, i) => (i * 37) & 0xff);
  const labels = Int32Array.from([0, 9, 3, -1, 2147483647]);

  test('round trip with and without labels', () => {
    const bytes = encodeShard({ count, shape, pixels, labels });
    assert.equal(bytes.length, SHARD_HEADER_BYTES + pixels.length + 4 * count);
    const s = decodeShard(bytes, 'k');
    assert.equal(s.count, count);
    assert.deepEqual(s.shape, shape);
    assert.deepEqual(Array.from(s.pixels), Array.from(pixels));
    assert.deepEqual(Array.from(s.labels!), Array.from(labels));
    const unl = decodeShard(encodeShard({ count, shape: { height: 6, width: 3, channels: 1 }, pixels }));
    assert.equal(unl.labels, undefined);
    assert.deepEqual(unl.shape, { height: 6, width: 3, channels: 1 });
    const empty = decodeShard(
      encodeShard({ count: 0, shape, pixels: new Uint8Array(0), labels: new Int32Array(0) }),
    );
    assert.equal(empty.count, 0);
  });

  test('corrupted, truncated and foreign bytes are rejected, naming the shard', () => {
    const bytes = encodeShard({ count, shape, pixels, labels });
    for (const at of [SHARD_HEADER_BYTES + 7, bytes.length - 1, 16]) {
      const bad = bytes.slice();
      bad[at] ^= 0x01;
      assert.throws(
        () => decodeShard(bad, 'datasets/x/shard-3'),
        /datasets\/x\/shard-3: .*(checksum mismatch|needs)/,
        `flip at ${at}`,
      );
    }
    assert.throws(
      () => decodeShard(bytes.subarray(0, bytes.length - 4), 's'),
      /s: shard is \d+ bytes but its header .* needs/,
    );
    const foreign = bytes.slice();
    foreign[0] = 0x41;
    assert.throws(() => decodeShard(foreign, 'f'), /f: not a shard \(magic/);
    assert.throws(
      () => encodeShard({ count, shape, pixels: pixels.subarray(1) }),
      /pixel bytes for 5 images/,
    );
  });
});

describe('splits', () => {
  test('label fractions are class-balanced, nested, seeded, at least one per class', async () => {
    const files = findIdxFiles(FASHION);
    const { labels } = await readIdxDataset(files.train.images, files.train.labels);
    const one = labelFractionSubset(labels, 0.01, 7);
    const ten = labelFractionSubset(labels, 0.1, 7);
    assert.deepEqual(
      histogram(
        Array.from(one, (i) => labels[i]),
        10,
      ),
      new Array(10).fill(60),
    );
    assert.deepEqual(
      histogram(
        Array.from(ten, (i) => labels[i]),
        10,
      ),
      new Array(10).fill(600),
    );
    const tenSet = new Set(ten);
    assert.ok(
      Array.from(one).every((i) => tenSet.has(i)),
      '1 % subset is inside the 10 % subset',
    );
    assert.ok(
      one.every((v, i) => i === 0 || v > one[i - 1]),
      'sorted, no duplicates',
    );
    assert.deepEqual(labelFractionSubset(labels, 0.01, 7), one);
    assert.notDeepEqual(labelFractionSubset(labels, 0.01, 8), one);
    // Small classes: round(0.01 × 3) = 0 → at least 1; fraction 1 → everything.
    const small = [0, 0, 0, 1, 2, 2];
    assert.deepEqual(
      histogram(
        Array.from(labelFractionSubset(small, 0.01, 1), (i) => small[i]),
        3,
      ),
      [1, 1, 1],
    );
    assert.deepEqual(Array.from(labelFractionSubset(small, 1, 1)), [0, 1, 2, 3, 4, 5]);
    assert.throws(() => labelFractionSubset([0, -1], 0.5, 1), /image 1 has label -1/);
  });

  test('train/test split is stratified and a partition; unlabelled split by count; class-balanced limit', () => {
    const labels = Array.from({ length: 103 }, (_, i) => (i < 50 ? 0 : i < 100 ? 1 : 2));
    const { train, test: held } = trainTestSplit(labels.length, 0.2, 3, labels);
    assert.deepEqual(
      histogram(
        Array.from(held, (i) => labels[i]),
        3,
      ),
      [10, 10, 1],
    );
    assert.equal(train.length + held.length, 103);
    assert.deepEqual(
      [...train, ...held].sort((a, b) => a - b),
      Array.from({ length: 103 }, (_, i) => i),
    );
    assert.deepEqual(trainTestSplit(labels.length, 0.2, 3, labels).test, held);
    const unl = trainTestSplit(10, 0.25, 1);
    assert.equal(unl.test.length, 3); // round(2.5) = 3
    assert.equal(unl.train.length, 7);
    const lim = classBalancedLimit(labels.length, 7, labels);
    assert.deepEqual(Array.from(lim), [0, 1, 2, 50, 51, 100, 101]);
    assert.deepEqual(
      histogram(
        Array.from(lim, (i) => labels[i]),
        3,
      ),
      [3, 2, 2],
    );
    assert.deepEqual(Array.from(classBalancedLimit(5, 3)), [0, 1, 2]);
  });
});

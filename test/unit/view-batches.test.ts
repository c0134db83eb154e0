/**
 * The batch source of pretraining (simclr/view-batches.ts): the epoch order, batches assembled from
 * shards of different sizes (spanning shard boundaries, resumed mid-epoch), the next shard fetched
 * while the current one is read, the time spent waiting for views, and errors that name the shard.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { epochOrder, ViewBatchSource, type ViewPosition } from '../../simclr/view-batches';
import type { ViewBatch } from '../../simclr/train';

/** 2×2×1 views whose pixels say which (shard, image, view) they are. */
const shape = { height: 2, width: 2, channels: 1 } as const;
const BYTES = 4;
const code = (shard: number, index: number, view: 0 | 1) => shard * 64 + index * 2 + view;

/** A shard's views laid out as the precompute writes them: view 1 of its n images, then view 2. */
function shardViews(shard: number, n: number): Uint8Array {
  const out = new Uint8Array(2 * n * BYTES);
  for (let i = 0; i < n; i++) {
    out.fill(code(shard, i, 0), i * BYTES, (i + 1) * BYTES);
    out.fill(code(shard, i, 1), (n + i) * BYTES, (n + i + 1) * BYTES);
  }
  return out;
}

/** The (shard, image) of every image of a batch, read back from view 1, after checking view 2 matches. */
function decode(batch: ViewBatch): ViewPosition[] {
  const out: ViewPosition[] = [];
  for (let j = 0; j < batch.count; j++) {
    const a = batch.view1[j * BYTES];
    const b = batch.view2[j * BYTES];
    assert.ok(
      batch.view1.subarray(j * BYTES, (j + 1) * BYTES).every((v) => v === a),
      'one image per slot',
    );
    assert.equal(b, a + 1, `image ${j}: view 2 belongs to the same image as view 1`);
    out.push({ shard: a >> 6, index: (a & 63) >> 1 });
  }
  return out;
}

async function collect(source: AsyncIterable<ViewBatch>): Promise<ViewBatch[]> {
  const out: ViewBatch[] = [];
  for await (const b of source) out.push(b);
  return out;
}

const counts = [5, 3, 7, 2];

describe('epochOrder', () => {
  it('visits every image once, shard by shard, in a seeded order that changes with the epoch', () => {
    const order = epochOrder(counts, 3, 0);
    assert.equal(order.length, 17);
    const seen = new Set(order.map((p) => `${p.shard}/${p.index}`));
    assert.equal(seen.size, 17);
    counts.forEach((n, s) => {
      for (let i = 0; i < n; i++) assert.ok(seen.has(`${s}/${i}`));
    });
    const shardsInOrder = order.map((p) => p.shard).filter((s, i, a) => i === 0 || a[i - 1] !== s);
    assert.equal(shardsInOrder.length, counts.length, 'each shard read in one stretch');
    assert.deepEqual(epochOrder(counts, 3, 0), order, 'a pure function of (counts, seed, epoch)');
    assert.notDeepEqual(epochOrder(counts, 3, 1), order);
    assert.notDeepEqual(epochOrder(counts, 4, 0), order);
  });
});

describe('ViewBatchSource', () => {
  it('assembles the batches of the order from shards of different sizes, across shard boundaries', async () => {
    const order = epochOrder(counts, 7, 2);
    const fetched: number[] = [];
    const source = new ViewBatchSource({
      order,
      batchSize: 4,
      imageShape: shape,
      shardCounts: counts,
      fetchShard: async (s) => {
        fetched.push(s);
        return shardViews(s, counts[s]);
      },
    });
    assert.equal(source.length, 4, '17 images make 4 full batches of 4');
    const batches = await collect(source);
    assert.equal(batches.length, 4);
    assert.deepEqual(
      batches.flatMap(decode),
      order.slice(0, 16),
      'batch b holds positions 4b … 4b+3 of the order',
    );
    for (const b of batches) {
      assert.equal(b.count, 4);
      assert.equal(b.view1.length, 4 * BYTES);
      assert.equal(b.view1.buffer, b.view2.buffer, 'both views in one buffer, back to back');
      assert.equal(b.view2.byteOffset, b.view1.byteOffset + b.view1.byteLength);
    }
    const stretches = order
      .slice(0, 16)
      .map((p) => p.shard)
      .filter((s, i, a) => i === 0 || a[i - 1] !== s);
    assert.deepEqual(fetched, stretches, 'each shard fetched once, in the order it is read');
    assert.equal(source.yielded, 4);
  });

  it('a resumed epoch yields exactly the remaining batches of an uninterrupted one', async () => {
    const order = epochOrder(counts, 7, 2);
    const options = {
      order,
      batchSize: 3,
      imageShape: shape,
      fetchShard: async (s: number) => shardViews(s, counts[s]),
    };
    const all = (await collect(new ViewBatchSource(options))).map(decode);
    assert.equal(all.length, 5);
    const resumed = (await collect(new ViewBatchSource({ ...options, firstBatch: 3 }))).map(decode);
    assert.deepEqual(resumed, all.slice(3));
    const capped = (await collect(new ViewBatchSource({ ...options, batches: 4, firstBatch: 1 }))).map(
      decode,
    );
    assert.deepEqual(capped, all.slice(1, 4), '`batches` counts the whole epoch, not what is left');
  });

  it('fetches the next shard while the current one is read, and measures the time it waits for views', async () => {
    const order: ViewPosition[] = [0, 1, 2].flatMap((shard) =>
      Array.from({ length: 4 }, (_, index) => ({ shard, index })),
    );
    const DELAY = 40;
    const events: string[] = [];
    const make = (prefetch: number) =>
      new ViewBatchSource({
        order,
        batchSize: 4,
        imageShape: shape,
        prefetch,
        fetchShard: async (s) => {
          events.push(`fetch ${s}`);
          await sleep(DELAY);
          return shardViews(s, 4);
        },
      });

    // With prefetch, shard 1 is on its way before the first batch (shard 0) is handed out.
    const ahead = make(1);
    for await (const b of ahead) {
      events.push(`batch of shard ${decode(b)[0].shard}`);
      await sleep(2 * DELAY); // the step: long enough for the next shard to arrive meanwhile
    }
    assert.deepEqual(events, [
      'fetch 0',
      'fetch 1',
      'batch of shard 0',
      'fetch 2',
      'batch of shard 1',
      'batch of shard 2',
    ]);
    assert.ok(ahead.waitMs >= DELAY - 2, `waited for the first shard: ${ahead.waitMs} ms`);

    // Without prefetch every shard is waited for.
    events.length = 0;
    const inline = make(0);
    await collect(inline);
    assert.deepEqual(events, ['fetch 0', 'fetch 1', 'fetch 2']);
    assert.ok(inline.waitMs >= 3 * (DELAY - 2), `waited for each of 3 shards: ${inline.waitMs} ms`);
  });

  it('names the shard when its views cannot be fetched or do not fit, and keeps the error class', async () => {
    const order = epochOrder(counts, 1, 0);
    const base = { order, batchSize: 4, imageShape: shape, prefetch: 0 };
    class DatasetError extends Error {
      override readonly name = 'DatasetError';
    }
    const broken = order[0].shard;
    await assert.rejects(
      collect(
        new ViewBatchSource({
          ...base,
          fetchShard: async (s) => {
            if (s === broken) throw new DatasetError('augment/x/epoch-0/shard-1: shard checksum mismatch');
            return shardViews(s, counts[s]);
          },
        }),
      ),
      (err: Error) =>
        err.name === 'DatasetError' &&
        err.message === `views of shard ${broken}: augment/x/epoch-0/shard-1: shard checksum mismatch`,
    );
    await assert.rejects(
      collect(new ViewBatchSource({ ...base, fetchShard: async () => new Uint8Array(7) })),
      new RegExp(`views of shard ${broken}: 7 bytes is not a whole number of view pairs of 2×2×1`),
    );
    await assert.rejects(
      collect(
        new ViewBatchSource({ ...base, shardCounts: counts, fetchShard: async (s) => shardViews(s, 1) }),
      ),
      new RegExp(`views of shard ${broken}: 1 view pairs, but the shard has ${counts[broken]} images`),
    );
    await assert.rejects(
      collect(new ViewBatchSource({ ...base, fetchShard: async (s) => shardViews(s, 1) })),
      new RegExp(`views of shard ${broken}: the order needs image \\d+ but the shard has 1 images`),
    );
  });

  it('a failed prefetch of a shard never read is no unhandled rejection', async () => {
    const order: ViewPosition[] = [0, 0, 1, 1].map((shard, index) => ({ shard, index: index % 2 }));
    const source = new ViewBatchSource({
      order,
      batchSize: 2,
      imageShape: shape,
      fetchShard: async (s) => {
        if (s === 1) throw new Error('gone');
        return shardViews(s, 2);
      },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for await (const b of source) {
        assert.equal(decode(b)[0].shard, 0);
        break; // the consumer stops before shard 1 is needed
      }
      await sleep(20);
      assert.deepEqual(unhandled, []);
      assert.equal(source.fetches, 2, 'shard 1 was prefetched');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses options that cannot make an epoch, naming them', () => {
    const order = epochOrder(counts, 1, 0);
    const fetchShard = async () => new Uint8Array();
    const make = (o: object) => () =>
      new ViewBatchSource({ order, batchSize: 4, imageShape: shape, fetchShard, ...o });
    assert.throws(make({ batchSize: 0 }), /batchSize must be a positive integer \(got 0\)/);
    assert.throws(make({ batches: 5 }), /batches must be an integer from 0 to 4 .*got 5/);
    assert.throws(make({ firstBatch: 5 }), /firstBatch must be an integer from 0 to 4 \(got 5\)/);
    assert.throws(make({ prefetch: -1 }), /prefetch must be a non-negative integer/);
  });
});

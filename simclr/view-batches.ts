/**
 * The batch source of pretraining: batches of pairs of views assembled from precomputed view shards,
 * in the epoch's seeded order.
 *
 * A view shard holds the two views of each of its n images as 2n images: view 1 of images 0..n−1, then
 * view 2 of the same images (activities/augment.ts writes them ahead of training). The epoch visits the
 * images in `epochOrder` (shards in a seeded order, images shuffled within each shard), and batch b is
 * the images at positions b·N … (b+1)·N − 1 of that order, so a batch can span two shards and a resumed
 * epoch that starts at batch b sees exactly the batches an uninterrupted one sees.
 *
 * Where the views come from is the caller's business (`fetchShard`: a store, memory, an inline
 * precompute); simclr/ knows nothing of stores or Temporal. The next shard is fetched while the current
 * one's batches train (`prefetch`), and the time the consumer is blocked on a fetch is `waitMs`.
 *
 * @example
 *   const source = new ViewBatchSource({
 *     order: epochOrder(shardCounts, seed, epoch), batchSize: 256, imageShape, shardCounts,
 *     fetchShard: async (s) => decodeShard(await store.get(viewsKey(s))).pixels,
 *   });
 *   const summary = await pretrainer.runEpoch(source);
 *   console.log(`waited ${source.waitMs} ms for views`);
 */
import type { ImageShape } from './images';
import { Rng } from './rng';
import type { ViewBatch } from './train';

/** One image of the epoch: its train shard and its index within that shard. */
export interface ViewPosition {
  shard: number;
  index: number;
}

/** The shuffle stream of the epoch order (distinct from the augmentation streams, views 0 and 1). */
const ORDER_STREAM = 0x4550_0000;

/**
 * The order in which epoch `epoch` visits the images of shards of `shardCounts` images: the shards in
 * a seeded order, the images shuffled within each shard (so a batch needs at most two shards' views).
 * A pure function of (shardCounts, seed, epoch).
 */
export function epochOrder(shardCounts: readonly number[], seed: number, epoch: number): ViewPosition[] {
  const rng = new Rng({ seed, epoch, index: 0, view: ORDER_STREAM });
  const shards = rng.shuffle(shardCounts.map((_, i) => i));
  const order: ViewPosition[] = [];
  for (const shard of shards) {
    const within = rng.shuffle(Array.from({ length: shardCounts[shard] }, (_, i) => i));
    for (const index of within) order.push({ shard, index });
  }
  return order;
}

export interface ViewBatchSourceOptions {
  /** The epoch's order of images (`epochOrder`). */
  order: readonly ViewPosition[];
  /** Images (pairs of views) per batch. */
  batchSize: number;
  /** Shape of one view. */
  imageShape: ImageShape;
  /** The first batch to yield: a resumed epoch skips the batches it already trained on (default 0). */
  firstBatch?: number;
  /** Batches in the whole epoch (default: the full batches of `order`, floor(order.length / batchSize)). */
  batches?: number;
  /**
   * The decoded views of a shard: 2n images of `imageShape`, view 1 of its n images then view 2.
   * Called once per stretch of the order that reads the shard, ahead of time (see `prefetch`).
   */
  fetchShard: (shard: number) => Promise<Uint8Array>;
  /** Images per shard (e.g. from the dataset manifest): when given, a shard's views must match it. */
  shardCounts?: readonly number[];
  /** Shards fetched ahead of the one being read (default 1: the next shard loads while this one trains). */
  prefetch?: number;
}

/** Decoded views of one shard and its number of images. */
interface ShardViews {
  shard: number;
  views: Uint8Array;
  pairs: number;
}

/** A stretch of consecutive positions of the order that read the same shard. */
interface ShardRun {
  shard: number;
  start: number;
  end: number;
}

/** Batches of an epoch over precomputed view shards; iterate it once per epoch (see the module comment). */
export class ViewBatchSource implements AsyncIterable<ViewBatch> {
  /** Milliseconds the consumer was blocked waiting for a shard's views (fetches not yet finished). */
  waitMs = 0;
  /** Shard fetches started (prefetches included). */
  fetches = 0;
  /** Batches yielded so far. */
  yielded = 0;
  private readonly first: number;
  private readonly count: number;
  private readonly prefetch: number;
  private readonly bytes: number;

  constructor(private readonly opts: ViewBatchSourceOptions) {
    const { order, batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`ViewBatchSource: batchSize must be a positive integer (got ${batchSize})`);
    const total = opts.batches ?? Math.floor(order.length / batchSize);
    if (!Number.isInteger(total) || total < 0 || total * batchSize > order.length)
      throw new Error(
        `ViewBatchSource: batches must be an integer from 0 to ${Math.floor(order.length / batchSize)} ` +
          `(the order has ${order.length} images for batches of ${batchSize}; got ${total})`,
      );
    this.first = opts.firstBatch ?? 0;
    if (!Number.isInteger(this.first) || this.first < 0 || this.first > total)
      throw new Error(
        `ViewBatchSource: firstBatch must be an integer from 0 to ${total} (got ${this.first})`,
      );
    this.count = total - this.first;
    this.prefetch = opts.prefetch ?? 1;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0)
      throw new Error(`ViewBatchSource: prefetch must be a non-negative integer (got ${this.prefetch})`);
    this.bytes = opts.imageShape.height * opts.imageShape.width * opts.imageShape.channels;
  }

  /** Batches this source yields (the epoch's batches from `firstBatch` on). */
  get length(): number {
    return this.count;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ViewBatch> {
    const { order, batchSize } = this.opts;
    const bytes = this.bytes;
    const runs = shardRuns(order, this.first * batchSize, (this.first + this.count) * batchSize);
    const loads = new Map<number, Promise<ShardViews>>();
    const startLoad = (r: number): void => {
      if (r >= runs.length || loads.has(r)) return;
      const load = this.load(runs[r].shard);
      // Awaited when its turn comes; until then a failure must not count as an unhandled rejection.
      load.catch(() => {});
      loads.set(r, load);
    };
    let run = -1;
    let current: ShardViews | undefined;
    let position = this.first * batchSize;
    for (let b = 0; b < this.count; b++) {
      // Both views in one buffer, view 2 right after view 1: the step feeds them as one 2N batch
      // without another copy (simclr/train.ts, concatViews).
      const both = new Uint8Array(2 * batchSize * bytes);
      const view1 = both.subarray(0, batchSize * bytes);
      const view2 = both.subarray(batchSize * bytes);
      for (let j = 0; j < batchSize; j++, position++) {
        if (run < 0 || position >= runs[run].end) {
          loads.delete(run);
          run++;
          for (let k = 0; k <= this.prefetch; k++) startLoad(run + k);
          const t0 = performance.now();
          current = await loads.get(run)!;
          this.waitMs += performance.now() - t0;
        }
        const views = current!;
        const { index } = order[position];
        if (!Number.isInteger(index) || index < 0 || index >= views.pairs)
          throw new Error(
            `views of shard ${views.shard}: the order needs image ${index} but the shard has ${views.pairs} images`,
          );
        view1.set(views.views.subarray(index * bytes, (index + 1) * bytes), j * bytes);
        const second = (views.pairs + index) * bytes;
        view2.set(views.views.subarray(second, second + bytes), j * bytes);
      }
      this.yielded++;
      yield { view1, view2, count: batchSize };
    }
  }

  /** Fetches a shard's views and checks their size; errors name the shard. */
  private async load(shard: number): Promise<ShardViews> {
    this.fetches++;
    let views: Uint8Array;
    try {
      views = await this.opts.fetchShard(shard);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const wrapped = new Error(`views of shard ${shard}: ${e.message}`, { cause: e });
      // Keeps the class name, which decides whether the failure is retried (activities/context.ts).
      wrapped.name = e.name;
      throw wrapped;
    }
    const pair = 2 * this.bytes;
    const { height, width, channels } = this.opts.imageShape;
    if (views.length % pair !== 0)
      throw new Error(
        `views of shard ${shard}: ${views.length} bytes is not a whole number of view pairs of ` +
          `${height}×${width}×${channels} (${pair} bytes each)`,
      );
    const pairs = views.length / pair;
    const expected = this.opts.shardCounts?.[shard];
    if (expected !== undefined && pairs !== expected)
      throw new Error(`views of shard ${shard}: ${pairs} view pairs, but the shard has ${expected} images`);
    return { shard, views, pairs };
  }
}

/** The stretches of positions [start, end) of `order` that read one shard, in order. */
function shardRuns(order: readonly ViewPosition[], start: number, end: number): ShardRun[] {
  const runs: ShardRun[] = [];
  for (let i = start; i < end; i++) {
    const last = runs[runs.length - 1];
    if (last && last.shard === order[i].shard) last.end = i + 1;
    else runs.push({ shard: order[i].shard, start: i, end: i + 1 });
  }
  return runs;
}

/**
 * The project's seeded random numbers: a counter-based generator (Philox4x32-10, Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011) keyed by (seed, epoch, index, view).
 *
 * Counter-based means every number is a pure function of its key and its position: block n of stream
 * (seed, epoch, index, view) is Philox(counter = [n, index, epoch, view], key = [seed_lo, seed_hi]).
 * So any view of any epoch can be recomputed on any worker, in any order, bit for bit, without
 * replaying the numbers before it; distinct keys are distinct counters, so streams never overlap.
 * Only 32-bit integer arithmetic is used (Math.imul and a 16-bit split for the high product word),
 * which JavaScript performs identically on every platform.
 *
 * @example
 *   const rng = new Rng({ seed: 7, epoch: 3, index: 1234, view: 0 });
 *   const flip = rng.bernoulli(0.5);
 *   const state = rng.getState(); // JSON-safe; Rng.fromState(state) continues the same sequence
 */

/** What a stream is keyed by. All four are non-negative integers; seed < 2^53, the others < 2^32. */
export interface RngKey {
  seed: number;
  epoch: number;
  index: number;
  /** Which stream of the (epoch, index) pair: 0 and 1 are the two SimCLR views; see RNG_STREAMS. */
  view: number;
}

/** The `view` word of streams that are not augmentation views, so they never collide with them. */
export const RNG_STREAMS = {
  view1: 0,
  view2: 1,
  /** Per-class permutation behind label-fraction subsets (index = class). */
  labelFraction: 0x4c46_0000,
  /** Per-class permutation behind the train/test split of a folder source (index = class). */
  trainTestSplit: 0x5454_0000,
  /** Drawing of the generated shapes dataset (simclr/datasets/synthetic.ts; epoch = split, index = image). */
  syntheticShapes: 0x5348_0000,
  /** The test images the report draws: map points, neighbour queries (index = class). */
  representationSample: 0x5250_0000,
  /** UMAP's random numbers for an embedding map (index = which encoder's map). */
  embeddingMap: 0x554d_0000,
} as const;

/** A generator's position: its key plus how many 32-bit words it has produced. JSON-serialisable. */
export interface RngState extends RngKey {
  drawn: number;
}

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;

/** High 32 bits of the 64-bit product of two uint32 (the low half is Math.imul). */
function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  // < 2^32 + 2^17: exact in a double.
  const cross = (loLo >>> 16) + (hiLo & 0xffff) + loHi;
  return (aHi * bHi + (hiLo >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/**
 * One Philox4x32-10 block: 4 uint32 outputs for a 128-bit counter and 64-bit key, written to `out`.
 * Matches the Random123 known-answer vectors (see test/unit/augment.test.ts).
 */
export function philox4x32(
  counter: ArrayLike<number>,
  key: ArrayLike<number>,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

function checkWord(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`Rng: ${name} must be an integer in [0, ${max}] (got ${value})`);
  }
}

/** A keyed stream of random numbers; see the module comment. Not thread-shared: one per view. */
export class Rng {
  readonly key: Readonly<RngKey>;
  private readonly keyWords: [number, number];
  private readonly counter = new Uint32Array(4);
  private readonly block = new Uint32Array(4);
  private drawn = 0;

  constructor(key: RngKey) {
    checkWord('seed', key.seed, Number.MAX_SAFE_INTEGER);
    checkWord('epoch', key.epoch, 0xffffffff);
    checkWord('index', key.index, 0xffffffff);
    checkWord('view', key.view, 0xffffffff);
    this.key = Object.freeze({ seed: key.seed, epoch: key.epoch, index: key.index, view: key.view });
    this.keyWords = [key.seed >>> 0, Math.floor(key.seed / TWO_POW_32) >>> 0];
    this.counter[1] = key.index;
    this.counter[2] = key.epoch;
    this.counter[3] = key.view;
  }

  /** Restores a generator saved with getState(); it continues exactly where that one stopped. */
  static fromState(state: RngState): Rng {
    checkWord('drawn', state.drawn, Number.MAX_SAFE_INTEGER);
    const rng = new Rng(state);
    rng.drawn = state.drawn;
    if (state.drawn % 4 !== 0) rng.refill(Math.floor(state.drawn / 4));
    return rng;
  }

  /** The key and position, JSON-safe, for checkpoints. */
  getState(): RngState {
    return { ...this.key, drawn: this.drawn };
  }

  private refill(blockIndex: number): void {
    this.counter[0] = blockIndex;
    philox4x32(this.counter, this.keyWords, this.block);
  }

  /** The next uniform uint32. */
  nextUint32(): number {
    const slot = this.drawn & 3;
    if (slot === 0) this.refill(Math.floor(this.drawn / 4));
    this.drawn++;
    return this.block[slot];
  }

  /** Uniform in [0, 1), 32-bit resolution (never 1, so bernoulli(1) is always true and bernoulli(0) never). */
  uniform(): number {
    return this.nextUint32() * INV_TWO_POW_32;
  }

  /** Uniform in [a, b). */
  uniformRange(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }

  /** true with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the last partial range), 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32)
      throw new Error(`Rng.int: n must be an integer in [1, 2^32] (got ${n})`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }
}

/**
 * The seeded pseudo-random numbers of evaluation: mini-batch order and fine-tuning crop/flip draws.
 *
 * A local mulberry32 (32-bit state, period 2³²; plenty for shuffling and augmentation draws) while
 * simclr/rng.ts is written; evaluation should switch to it once it exists so the project has one PRNG.
 */

/** Uniform floats in [0, 1) from a 32-bit seed; the same seed gives the same sequence on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** A new array holding `items` in a uniformly random order (Fisher–Yates). */
export function shuffled(items: ArrayLike<number>, random: () => number): Int32Array {
  const out = Int32Array.from(items);
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

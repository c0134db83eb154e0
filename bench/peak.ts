/**
 * This machine's fp32 GEMM peak on the active TensorFlow.js backend: the best rate of an n×n×n
 * tf.matMul (2n³ FLOPs) over a few repetitions after a warm-up. It is the denominator of MFU, so the
 * MFU says how far the training step is from what the same backend, with the same threads, reaches
 * on the friendliest possible workload (not the CPU's datasheet peak).
 */
import { tf } from '../simclr/backend';

export interface MatmulPeak {
  n: number;
  gflops: number;
}

export async function measureMatmulPeak(n = 2048, repetitions = 10): Promise<MatmulPeak> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  let best = Infinity;
  try {
    for (let r = 0; r <= repetitions; r++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      const corner = c.slice([0, 0], [1, 1]); // reading one value waits for the product without copying 16 MB
      await corner.data();
      const ms = performance.now() - t0;
      tf.dispose([c, corner]);
      if (r > 0) best = Math.min(best, ms); // the first run pays for allocation and thread start-up
    }
  } finally {
    tf.dispose([a, b]);
  }
  return { n, gflops: (2 * n ** 3) / (best * 1e6) };
}

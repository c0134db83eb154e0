/**
 * Learning-rate schedule of [SimCLR] Sec. 2.2 / App. B.1: the base rate is scaled with the batch size,
 * warmed up linearly from 0 over the first epochs, then decayed to 0 with a cosine, without restarts.
 *
 * @example
 *   const peak = effectiveLearningRate(0.3, 4096, 'linear'); // 4.8
 *   const lr = learningRateAt(step, { peak, warmupSteps: 10 * stepsPerEpoch, totalSteps: 100 * stepsPerEpoch });
 */

/**
 * Peak learning rate from the base one: base × batch / 256 ('linear', Sec. 2.2), base × √batch ('sqrt',
 * App. B.1, better for small batches and long training), or base ('none').
 */
export function effectiveLearningRate(
  base: number,
  batchSize: number,
  scaling: 'linear' | 'sqrt' | 'none',
): number {
  if (!(base >= 0)) throw new Error(`effectiveLearningRate: learning rate must be >= 0 (got ${base})`);
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new Error(`effectiveLearningRate: batch size must be a positive integer (got ${batchSize})`);
  switch (scaling) {
    case 'linear':
      return (base * batchSize) / 256;
    case 'sqrt':
      return base * Math.sqrt(batchSize);
    case 'none':
      return base;
    default:
      throw new Error(
        `effectiveLearningRate: unknown scaling '${String(scaling)}' (expected linear, sqrt or none)`,
      );
  }
}

export interface ScheduleOptions {
  /** Rate reached at the end of warm-up. */
  peak: number;
  warmupSteps: number;
  totalSteps: number;
}

/**
 * Rate at `step` (0-based): peak · step / warmupSteps during warm-up, then
 * peak · ½ (1 + cos(π · (step − warmupSteps) / (totalSteps − warmupSteps))), and 0 from totalSteps on.
 */
export function learningRateAt(step: number, { peak, warmupSteps, totalSteps }: ScheduleOptions): number {
  if (!(warmupSteps >= 0) || !(totalSteps >= 0)) {
    throw new Error(
      `learningRateAt: warmupSteps and totalSteps must be >= 0 (got ${warmupSteps}, ${totalSteps})`,
    );
  }
  if (step < warmupSteps) return (peak * step) / warmupSteps;
  if (step >= totalSteps) return 0;
  const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}

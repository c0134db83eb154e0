/**
 * Pretrainer options for tests, built the way the pipeline builds them: the experiment schema's
 * defaults, then config/resolve.ts for the image shape. `overrides` are experiment-file sections.
 */
import { experimentSchema, type ExperimentInput } from '../../config/schema';
import { resolveExperiment } from '../../config/resolve';
import { pretrainerOptionsFor, type PretrainerOptions } from '../../simclr/train';
import type { ImageShape } from '../../simclr/images';

export function pretrainerOptions(
  imageShape: ImageShape,
  stepsPerEpoch: number,
  overrides: Pick<ExperimentInput, 'model' | 'pretrain' | 'seed'> = {},
): PretrainerOptions {
  const cfg = experimentSchema.parse({ name: 'test', dataset: { source: '/unused' }, ...overrides });
  if (imageShape.height !== imageShape.width)
    throw new Error('pretrainerOptions: experiments have square images');
  return pretrainerOptionsFor(
    resolveExperiment(cfg, { imageSize: imageShape.height, channels: imageShape.channels }),
    stepsPerEpoch,
  );
}

/** Deterministic pseudo-random uint8 views for step `step` (a 32-bit LCG keyed by step and view). */
export function syntheticViews(
  step: number,
  count: number,
  shape: ImageShape,
): { view1: Uint8Array; view2: Uint8Array; count: number } {
  const n = count * shape.height * shape.width * shape.channels;
  const make = (view: number) => {
    const out = new Uint8Array(n);
    let s = (step * 2654435761 + view * 40503 + 12345) >>> 0;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s >>> 24;
    }
    return out;
  };
  return { view1: make(0), view2: make(1), count };
}

/**
 * The sweep presets: sweep files under examples/sweeps/ that reproduce the paper's findings at the
 * demo's scale (6000 Fashion-MNIST images, resnet-mini), selectable by name (`simclr sweep --preset
 * head`). Each states the paper's expected direction in its `expect:` list.
 *
 * - augmentations: random crop alone vs colour distortion alone vs both ([SimCLR] Fig. 5);
 * - head: projection head non-linear vs linear vs none ([SimCLR] Sec. 4.2, Fig. 8);
 * - batch-epochs: batch 128 / 256 / 512 at 10 and 20 epochs ([SimCLR] Fig. 9);
 * - small-images: the paper's CIFAR-10 setup vs the measured small-image defaults (./small-images.ts);
 * - small-images-full: the small-image defaults at the full 15-epoch Fashion-MNIST budget (60,000
 *   images, not the demo's 6,000) against τ, the learning rate and the crop moved one at a time.
 *
 * @example
 *   const plan = await loadSweepFile(sweepPresetPath('head'));
 */
import { join } from 'node:path';
import { ConfigError } from './errors';
import { didYouMean } from './suggest';

const SWEEPS_DIR = join(__dirname, '..', 'examples', 'sweeps');

const PRESETS = ['augmentations', 'head', 'batch-epochs', 'small-images', 'small-images-full'] as const;

export function sweepPresetNames(): string[] {
  return [...PRESETS];
}

/** The sweep file of a preset; ConfigError for an unknown name. */
export function sweepPresetPath(name: string): string {
  if (!(PRESETS as readonly string[]).includes(name))
    throw new ConfigError(
      `sweep preset '${name}'`,
      `unknown sweep preset${didYouMean(name, sweepPresetNames())}; known presets: ${sweepPresetNames().join(', ')}`,
    );
  return join(SWEEPS_DIR, `${name}.yaml`);
}

/**
 * Defaults for small images (side ≤ 32 px), measured on this project's own pipeline rather than taken
 * from the paper, because the paper's ImageNet recipe (and even its CIFAR-10 one, App. B.9, tuned for
 * 1,000 epochs of ResNet-50) learns slowly at the budgets small-image users run: tens of epochs of a
 * small ResNet on 2 CPU cores. config/resolve.ts applies them by image size, as it applies the paper's
 * CIFAR-10 setup; a value set in the experiment file always wins, and images above 32 px keep the
 * paper's ImageNet defaults (./defaults.ts).
 *
 * Evidence (README "Results" has the commands; `simclr sweep --preset small-images` reruns the
 * comparison): Fashion-MNIST, 28 px grayscale, resnet-mini, batch 256, LARS, linear evaluation /
 * weighted kNN on frozen features. Demo scale = 6,000 / 2,000 images, 10 epochs; seed-to-seed spread
 * there is about ±1.3 points, so only steps larger than that are taken as real.
 *
 * | change (from the paper's CIFAR-10 setup)           | demo linear | demo kNN |
 * |----------------------------------------------------|-------------|----------|
 * | paper CIFAR-10 setup: crop 0.08, s 0.5, τ 0.5, peak lr 1.2 | 77.3 | 67.0 |
 * | crop area 0.2–1 (0.35, 0.5: no better)             | 79.6        | 67.6     |
 * | + peak lr 9.6 (sqrt base 0.6; 2.4: 80.1, 4.8: 79.8, 19.2: 81.0) | 81.3 | 71.8 |
 * | + colour strength 1.0 (0.5: 81.3, 1.5: 80.1; no jitter: 73.6) | 83.2 / 80.6 (2 seeds) | 72.4 / 72.2 |
 * | + τ 0.2 (0.3: 80.9, 0.5: 83.2)                     | 82.5        | 74.5     |
 * | raw pixels, for comparison                         | 82.1        | 70.7     |
 *
 * Not adopted (no gain beyond the spread): blur p = 0.5 (82.1), weight decay 1e-4 (80.6), head width
 * 512 (79.4), width multiplier 2 (81.2 at 4× the compute), Adam 1e-3 without warm-up (72.3).
 */
import { PAPER_DEFAULTS as P } from './defaults';

export const SMALL_IMAGE_DEFAULTS = {
  augmentation: {
    /**
     * Crop area from 0.2 of the image (not 0.08): at 28 px a 0.08 crop is ~8×8 pixels, mostly background
     * or one flat patch of a garment, so many pairs carry no shared content to agree on.
     */
    cropAreaMin: 0.2,
    /**
     * Colour strength s: 0.5 for RGB (the paper's CIFAR-10 value, App. B.9); 1.0 for one channel, where
     * colour distortion is brightness and contrast alone (saturation and hue do nothing on gray), so the
     * full strength is what keeps the network from matching views by intensity.
     */
    colorStrengthRgb: P.augmentation.colorStrengthCifar10,
    colorStrengthGray: 1.0,
    /** No blur at ≤ 32 px, as the paper's CIFAR-10 setup (App. B.9); blur p = 0.5 measured no better. */
    blurProbability: P.augmentation.blurProbabilityCifar10,
  },
  pretrain: {
    /**
     * LARS peak learning rate 0.6 × √batch (9.6 at batch 256): the square-root rule of App. B.1 with a base
     * 8× the paper's 0.075. With the trust coefficient 0.001 a kernel moves ~lr·0.001 of its norm a step,
     * so the paper's rate, meant for tens of thousands of steps, barely moves a network in a few hundred.
     */
    learningRateScaling: 'sqrt' as const,
    learningRate: 0.6,
    /** NT-Xent temperature 0.2 (the paper's CIFAR-10 value is 0.5; Table 5 finds lower τ better with normalised z). */
    temperature: 0.2,
  },
} as const;

/**
 * Named starting points for an experiment file. Each sets only what differs from the paper's defaults
 * (./defaults.ts); the size-dependent ones (colour strength, blur, temperature, stem) follow from the
 * image size in resolve.ts. examples/*.yaml are the same presets with every knob explained.
 *
 * - fashion-mnist-small: the embedded demo. 6000 Fashion-MNIST training images (28 px, 1 channel) with
 *   resnet-mini, batch 128, 30 epochs: 46 steps an epoch, 1,380 in all, about 3 minutes of pretraining
 *   and 5 end to end on 2 CPU cores (README "Results"). Batch 128 rather than 256 because at this size
 *   a fixed number of epochs is few optimiser steps, and the steps count for more than the negatives
 *   (examples/sweeps/batch-epochs.yaml); 30 epochs because at 20 the lead over the raw pixels is
 *   about the seed-to-seed spread (1.7 points against ±1.3).
 * - fashion-mnist: all 60 000 images with ResNet-18 and the CIFAR stem, batch 512, 100 epochs, square-root
 *   learning-rate scaling ([SimCLR] App. B.1: better than linear scaling at small batches).
 * - cifar10: the reference's CIFAR-10 command ([README]: ResNet-18, batch 512, 1000 epochs, lr 1.0,
 *   weight decay 1e-4; τ 0.5, colour strength 0.5 and no blur follow from 32 px, as App. B.9).
 * - imagenet-like: a folder of images at 224 px with the paper's ImageNet setup (Sec. 2.3: ResNet-50,
 *   batch 4096, 100 epochs, LARS 0.3 × batch/256, weight decay 1e-6, τ 0.1, blur).
 *
 * @example
 *   const cfg = parseExperiment({ ...getPreset('cifar10'), name: 'my-run' }, 'preset cifar10');
 */
import { ConfigError } from './errors';
import type { ExperimentInput } from './schema';
import { didYouMean } from './suggest';

/** Debian's dataset-fashion-mnist package installs the IDX files here. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const PRESETS: Record<string, ExperimentInput> = {
  'fashion-mnist-small': {
    name: 'fashion-mnist-small',
    description: 'Embedded demo: SimCLR on 6000 Fashion-MNIST images (28 px, grayscale) with resnet-mini',
    dataset: {
      source: FASHION_MNIST_DIR,
      format: 'idx',
      imageSize: 28,
      channels: 1,
      maxTrainImages: 6000,
      maxTestImages: 2000,
    },
    model: { encoder: 'resnet-mini' },
    pretrain: { epochs: 30, batchSize: 128, checkpointEverySteps: 10 },
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    description: 'SimCLR on all of Fashion-MNIST (28 px, grayscale) with ResNet-18',
    dataset: { source: FASHION_MNIST_DIR, format: 'idx', imageSize: 28, channels: 1 },
    model: { encoder: 'resnet18' },
    pretrain: { epochs: 100, batchSize: 512, learningRateScaling: 'sqrt', knnEveryEpochs: 5 },
  },
  cifar10: {
    name: 'cifar10',
    description: "SimCLR on CIFAR-10 with ResNet-18, the reference implementation's CIFAR-10 command",
    dataset: { source: './data/cifar-10-batches-bin', format: 'cifar10', imageSize: 32, channels: 3 },
    model: { encoder: 'resnet18' },
    pretrain: {
      epochs: 1000,
      batchSize: 512,
      learningRate: 1.0,
      learningRateScaling: 'linear',
      weightDecay: 1e-4,
      knnEveryEpochs: 10,
    },
  },
  'imagenet-like': {
    name: 'imagenet-like',
    description:
      "A folder of images at 224 px with the paper's ImageNet setup (ResNet-50, batch 4096, 100 epochs)",
    dataset: { source: './data/images', format: 'folder', imageSize: 224, channels: 3, shardSize: 256 },
    model: { encoder: 'resnet50' },
    pretrain: { knnEveryEpochs: 10 },
  },
};

/** The preset names, in the order above (smallest first). */
export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** A fresh copy of the preset (safe to modify); ConfigError for an unknown name. */
export function getPreset(name: string): ExperimentInput {
  const preset = PRESETS[name];
  if (!preset) {
    throw new ConfigError(
      `preset '${name}'`,
      `unknown preset${didYouMean(name, presetNames())}; known presets: ${presetNames().join(', ')}`,
    );
  }
  return structuredClone(preset);
}

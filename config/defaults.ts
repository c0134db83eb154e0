/**
 * The paper's defaults, in one place, each with its source.
 *
 * [SimCLR]   Chen, Kornblith, Norouzi, Hinton. "A Simple Framework for Contrastive Learning of Visual
 *            Representations", ICML 2020 (arXiv:2002.05709). Section numbers refer to it.
 * [SimCLRv2] Chen, Kornblith, Swersky, Norouzi, Hinton. "Big Self-Supervised Models are Strong
 *            Semi-Supervised Learners", NeurIPS 2020 (arXiv:2006.10029).
 * [run.py]   google-research/simclr, tf2/run.py flag defaults (the authors' reference implementation).
 */
export const PAPER_DEFAULTS = {
  augmentation: {
    /** Random crop area fraction range: [SimCLR] App. A, "uniform from 0.08 to 1.0 in area". */
    cropAreaMin: 0.08,
    cropAreaMax: 1.0,
    /** Aspect ratio range of the crop: [SimCLR] App. A, "3/4 to 4/3". */
    aspectRatioMin: 3 / 4,
    aspectRatioMax: 4 / 3,
    /** Horizontal flip probability: [SimCLR] App. A, "random horizontal flip" with p = 0.5. */
    flipProbability: 0.5,
    /**
     * Colour distortion strength s: [SimCLR] App. A; 1.0 for ImageNet, 0.5 for CIFAR-10 (App. B.9).
     * brightness, contrast and saturation jitter 0.8·s, hue 0.2·s, applied in random order.
     */
    colorStrength: 1.0,
    colorStrengthSmallImages: 0.5,
    /** Probability of applying colour jitter: [SimCLR] App. A, p = 0.8. */
    colorJitterProbability: 0.8,
    /** Probability of random grayscale: [SimCLR] App. A, p = 0.2. */
    grayscaleProbability: 0.2,
    /**
     * Gaussian blur: [SimCLR] App. A, p = 0.5, σ uniform in [0.1, 2.0], kernel 10 % of the image side.
     * Not used for CIFAR-10 (App. B.9), so off by default at 32 px and below.
     */
    blurProbability: 0.5,
    blurSigmaMin: 0.1,
    blurSigmaMax: 2.0,
    blurKernelFraction: 0.1,
    blurMaxImageSideWithoutBlur: 32,
  },
  model: {
    /** Projection head output dimension: [SimCLR] Sec. 4.2 / B.4, z of dimension 128. */
    projectionDim: 128,
    /** Head depth: 2 layers in [SimCLR] (one hidden layer), 3 in [SimCLRv2]. */
    headLayers: 2,
    /** Fine-tune from the first layer of the projection head in [SimCLRv2] Sec. 2; 0 = encoder output. */
    fineTuneFromHeadLayer: 0,
  },
  pretrain: {
    /** [SimCLR] Sec. 2.2: batch 4096 for 100 epochs is the default ImageNet setting. */
    batchSize: 4096,
    epochs: 100,
    /** LARS with learning rate 0.3 × BatchSize/256 [SimCLR] Sec. 2.2 ("linear"), or 0.075 × √BatchSize (App. B.1, "sqrt"). */
    optimizer: 'lars' as const,
    learningRate: 0.3,
    learningRateScaling: 'linear' as const,
    sqrtLearningRate: 0.075,
    /** Weight decay 1e-6 [SimCLR] Sec. 2.2. */
    weightDecay: 1e-6,
    /** LARS momentum 0.9 and trust coefficient 0.001 [run.py] (LARS: You et al. 2017). */
    momentum: 0.9,
    trustCoefficient: 0.001,
    /** Linear warm-up for the first 10 epochs, then cosine decay without restarts [SimCLR] Sec. 2.2. */
    warmupEpochs: 10,
    /** NT-Xent temperature: 0.1 for ImageNet at large batch [SimCLR] Table 5 / Sec. 2.2; 0.5 on CIFAR-10 (App. B.9). */
    temperature: 0.1,
    temperatureSmallImages: 0.5,
  },
  fineTune: {
    /** Label fractions of ImageNet's semi-supervised benchmark: 1 % and 10 % [SimCLR] Sec. 6 / Table 7. */
    labelFractions: [0.01, 0.1],
    /** [SimCLR] App. B.5: Nesterov momentum, batch 4096, lr 0.8 (= 0.05 × 4096/256), no weight decay, 60 epochs (1 %) / 30 epochs (10 %). */
    learningRate: 0.05,
    epochs: 30,
    weightDecay: 0,
    momentum: 0.9,
  },
  linearEval: {
    /** [SimCLR] App. B.6: Nesterov momentum, lr 0.1 × BatchSize/256, 90 epochs, no weight decay (ours: small L2 on small data). */
    learningRate: 0.1,
    epochs: 90,
    weightDecay: 0,
    momentum: 0.9,
  },
  knn: {
    /** kNN monitor of Wu et al. 2018 ("instance discrimination"): k = 200, τ = 0.1, weighted voting. */
    k: 200,
    temperature: 0.1,
  },
} as const;

/**
 * The paper's defaults, in one place, each with its source.
 *
 * [SimCLR]   Chen, Kornblith, Norouzi, Hinton. "A Simple Framework for Contrastive Learning of Visual
 *            Representations", ICML 2020 (arXiv:2002.05709). Section numbers refer to it.
 * [SimCLRv2] Chen, Kornblith, Swersky, Norouzi, Hinton. "Big Self-Supervised Models are Strong
 *            Semi-Supervised Learners", NeurIPS 2020 (arXiv:2006.10029).
 * [run.py]   google-research/simclr, tf2/run.py flag defaults (the authors' reference implementation);
 *            [lars.py] its tf2/lars_optimizer.py; [README] its tf2/README.md (the CIFAR-10 command line).
 *
 * The paper's "Default setting" paragraph is in Sec. 2.3 (Evaluation protocol); Sec. 2.2 introduces LARS
 * and global batch norm. Where run.py's flag differs from the paper (train_batch_size 512,
 * num_proj_layers 3, weight decay 1e-4 in its README commands), the paper's value is used here.
 */
export const PAPER_DEFAULTS = {
  augmentation: {
    /** Random crop area fraction range: [SimCLR] App. A, "uniform from 0.08 to 1.0 in area". */
    cropAreaMin: 0.08,
    cropAreaMax: 1.0,
    /** Aspect ratio range of the crop: [SimCLR] App. A, "3/4 to 4/3". */
    aspectRatioMin: 3 / 4,
    aspectRatioMax: 4 / 3,
    /** Horizontal flip: [SimCLR] App. A, crop "with random flip"; p = 0.5 is the reference's random_flip_left_right. */
    flipProbability: 0.5,
    /**
     * Colour distortion strength s: [SimCLR] App. A; 1.0 for ImageNet ([run.py] color_jitter_strength),
     * 0.5 for CIFAR-10 (App. B.9, [README]). Brightness, contrast and saturation jitter 0.8·s, hue 0.2·s,
     * applied in random order.
     */
    colorStrength: 1.0,
    colorStrengthCifar10: 0.5,
    /** Probability of applying colour jitter: [SimCLR] App. A, p = 0.8. */
    colorJitterProbability: 0.8,
    /** Probability of random grayscale: [SimCLR] App. A, p = 0.2. */
    grayscaleProbability: 0.2,
    /**
     * Gaussian blur: [SimCLR] App. A, p = 0.5, σ uniform in [0.1, 2.0], kernel 10 % of the image side.
     * Left out for CIFAR-10 (App. B.9, [README] --use_blur=False), (off by default at 32 px and below, ./small-images.ts).
     */
    blurProbability: 0.5,
    blurProbabilityCifar10: 0,
    blurSigmaMin: 0.1,
    blurSigmaMax: 2.0,
    blurKernelFraction: 0.1,
  },
  imageSize: {
    /**
     * Images up to this side get the small-image defaults (./small-images.ts: the paper's CIFAR-10 setup,
     * App. B.9, adjusted by measurement). Larger ones get the ImageNet setup (App. A, Sec. 2.3).
     */
    smallImageMaxSide: 32,
    /**
     * Largest side that gets the CIFAR stem (3×3 stride-1 conv, no max-pool; App. B.9). The reference
     * switches at 32 px ([run.py] cifar_stem = image_size <= 32); we keep it up to 64 px, where the
     * ImageNet stem's 4× downsampling would leave 16×16 maps before the first stage.
     */
    cifarStemMaxSide: 64,
  },
  model: {
    /** Projection head output dimension: [SimCLR] Sec. 2.3, "a 128-dimensional latent space" ([run.py] proj_out_dim). */
    projectionDim: 128,
    /** Head depth: a 2-layer MLP in [SimCLR] Sec. 2.3 (one hidden layer); 3 in [SimCLRv2] ([run.py] num_proj_layers). */
    headLayers: 2,
    /** Fine-tune from the encoder output (0), as [SimCLR] and [run.py] ft_proj_selector; [SimCLRv2] Sec. 2 uses 1. */
    fineTuneFromHeadLayer: 0,
  },
  pretrain: {
    /** [SimCLR] Sec. 2.3 (Default setting): batch 4096 for 100 epochs. */
    batchSize: 4096,
    epochs: 100,
    /**
     * LARS (Sec. 2.2) with learning rate 0.3 × BatchSize/256 = 4.8 at 4096 ([SimCLR] Sec. 2.3, "linear"), or
     * 0.075 × √BatchSize ("sqrt", App. B.1: better at small batches; equal to the linear rule at 4096, [README]).
     */
    optimizer: 'lars' as const,
    learningRate: 0.3,
    learningRateScaling: 'linear' as const,
    sqrtLearningRate: 0.075,
    /** Weight decay 10⁻⁶ [SimCLR] Sec. 2.3 ([run.py] weight_decay; its README commands use 1e-4). */
    weightDecay: 1e-6,
    /** LARS momentum 0.9 [run.py] momentum, trust coefficient η = 0.001 [lars.py] EETA_DEFAULT (LARS: You et al. 2017). */
    momentum: 0.9,
    trustCoefficient: 0.001,
    /**
     * Linear warm-up for the first 10 epochs, then cosine decay without restarts [SimCLR] Sec. 2.3 ([run.py]
     * warmup_epochs): a tenth of its 100 epochs, the fraction kept for shorter trainings (resolve.ts).
     */
    warmupEpochs: 10,
    warmupFraction: 0.1,
    /** NT-Xent temperature τ: 0.1, the best of Table 5 ([SimCLR] Sec. 5.1, [run.py] temperature); 0.5 on CIFAR-10 (App. B.9, [README]). */
    temperature: 0.1,
    temperatureCifar10: 0.5,
  },
  fineTune: {
    /** Label fractions of ImageNet's semi-supervised benchmark: 1 % and 10 % [SimCLR] Sec. 6 / Table 7. */
    labelFractions: [0.01, 0.1],
    /**
     * [SimCLR] App. B.5: Nesterov momentum 0.9, batch 4096, lr 0.8 (= 0.05 × BatchSize/256) without warm-up,
     * no weight decay, 60 epochs for 1 % of the labels and 30 for 10 % (the default here).
     */
    learningRate: 0.05,
    epochs: 30,
    weightDecay: 0,
    momentum: 0.9,
  },
  linearEval: {
    /** [SimCLR] App. B.6: Nesterov momentum, lr 1.6 at batch 4096 (= 0.1 × BatchSize/256), 90 epochs, no weight decay. */
    learningRate: 0.1,
    epochs: 90,
    weightDecay: 0,
    momentum: 0.9,
  },
  knn: {
    /**
     * Weighted kNN of Wu et al. 2018 ("instance discrimination", Sec. 3.4): k = 200 neighbours vote with
     * weight exp(sim/τ). τ = 0.1 is the usual kNN-monitor value for SimCLR/MoCo on CIFAR-10 (Wu et al. use
     * their training temperature, 0.07). Not in the SimCLR paper.
     */
    k: 200,
    temperature: 0.1,
  },
  baselines: {
    /**
     * Linear evaluation and kNN on the raw pixels (flattened, in [0, 1]) with the encoders' protocols:
     * the first thing a user checks, since a representation that loses to its own input is not worth
     * pretraining for. Costs seconds. On by default so every report answers it (not in the paper).
     */
    pixels: true,
    /**
     * The supervised upper bound: the same encoder trained from random initialisation with all training
     * labels for as many epochs as pretraining, which is what [SimCLR] Fig. 1 / Table 8 set linear
     * evaluation against ("Supervised"). About half a pretraining run of compute (one view, not two).
     */
    supervised: true,
    /**
     * Training from scratch on the same 1 % / 10 % labels with the fine-tuning settings: the
     * "Supervised baseline" rows of [SimCLR] Table 7, against which fine-tuning is judged.
     */
    scratchFineTune: true,
    /**
     * Base learning rate (× batchSize / 256, cosine decay, as fine-tuning) of the two trainings from
     * random init; everything else is `fineTune.*`. Not fineTune.learningRate: the paper's 0.05 is for
     * adjusting a pretrained network and leaves one from random init undertrained, which would flatter
     * SimCLR. Measured on the demo's 6,000 / 2,000 Fashion-MNIST images, resnet-mini, batch 256, SGD
     * Nesterov: all labels for 10 epochs give 59.6 / 78.1 / 82.9 / 82.3 % top-1 at 0.05 / 0.2 / 0.4 / 0.8;
     * 1 % (10 %) of the labels for 30 epochs give 27.7 (47.5) % at 0.05 and 40.3 (62.0) % at 0.4.
     */
    fromScratchLearningRate: 0.4,
  },
} as const;

/**
 * What the store keeps of a run, not from the paper. A ResNet-18 checkpoint (weights, head and LARS
 * momentum) is about 90 MB and one is written every pretrain.checkpointEverySteps steps and at every
 * epoch's end, so without a bound a 100-epoch run leaves gigabytes behind.
 */
export const STORAGE_DEFAULTS = {
  checkpointRetention: {
    /**
     * The newest 2 checkpoints: a resume or a retried attempt needs only the newest committed one; the
     * one before it is the fallback while the next is being written or if the newest proves unreadable.
     */
    keepLast: 2,
    /**
     * Also keep the end-of-epoch checkpoint of every Nth epoch (0: none). Off by default because nothing
     * in the pipeline reads intermediate checkpoints; set it to study the training trajectory. The
     * final epoch's checkpoint is always kept (fine-tuning and evaluation start from it).
     */
    keepEveryEpochs: 0,
  },
} as const;

/**
 * What the report shows of the representation itself (report/representation.ts), not from the paper.
 * Fixed, not experiment settings: they change no result, only how much of the test set is drawn.
 */
export const REPRESENTATION_VIEW_DEFAULTS = {
  /**
   * Test images in the embedding maps and the TensorBoard projector, drawn class-balanced with the
   * run's seed. UMAP (umap-js 1.4, 64-dim features, 2 shared cores) took 5.7 s for 2,000 points, 6.0 s
   * for 3,000 and 10.5 s for 5,000 (`npm run bench -- umap`); 3,000 keeps two maps (trained and
   * random-init) near 12 s in the report activity and 300 points per class for 10 classes.
   */
  mapPoints: 3000,
  /** Query test images of the neighbour grid, class-balanced: one per class for 10 classes. */
  neighbourQueries: 10,
  /** Nearest training images shown per query, by cosine similarity of the encoder's features. */
  neighbours: 8,
  /**
   * UMAP (McInnes et al. 2018) settings, umap-js's defaults: 15 neighbours balance local against
   * global structure; min_dist 0.1 lets a class form a compact island.
   */
  umap: { nNeighbors: 15, minDist: 0.1 },
} as const;

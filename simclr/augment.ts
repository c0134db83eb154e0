/**
 * The SimCLR view pipeline ([SimCLR] App. A; torchvision's transforms as used by lightly's
 * SimCLRTransform), on uint8 HWC images, producing uint8 HWC views of the same size:
 *
 *   1. random resized crop: area fraction ~ U[cropAreaMin, cropAreaMax] (0.08–1), aspect ratio
 *      log-uniform in [aspectRatioMin, aspectRatioMax] (3/4–4/3); up to 10 attempts, then the centre
 *      crop of the whole image clamped to the ratio range (torchvision RandomResizedCrop.get_params);
 *      resized back to the full size, bilinear with half-pixel centres (align_corners = false);
 *   2. horizontal flip with p = flipProbability (0.5);
 *   3. with p = colorJitterProbability (0.8): brightness, contrast, saturation factors
 *      ~ U[max(0, 1 − 0.8·s), 1 + 0.8·s] and a hue shift ~ U[−0.2·s, 0.2·s] (in turns), applied in a
 *      random order (torchvision ColorJitter semantics, ITU-R 601 luma for contrast/saturation);
 *   4. grayscale with p = grayscaleProbability (0.2), luma replicated to the three channels;
 *   5. with p = blurProbability: Gaussian blur, σ ~ U[blurSigmaMin, blurSigmaMax] (0.1–2.0), kernel
 *      2·⌊⌊side·0.1⌋/2⌋ + 1 taps (the reference implementation's 10 % of the side, made odd; 23 at
 *      224 px, 3 at 28–32 px), reflect padding. blurProbability = 0 (the default at ≤ 32 px) turns it off.
 *
 * Pixels stay in float [0, 1] (clamped after each colour op, like torchvision on float tensors) and are
 * rounded to uint8 once at the end.
 *
 * Grayscale (1-channel) images: saturation, hue and grayscale leave a gray image unchanged, so the
 * colour ops reduce to brightness and contrast (contrast around the image mean). All random numbers
 * are still drawn in the same order, so a 1-channel and a 3-channel image with the same key get the
 * same crop, flip and blur.
 *
 * Randomness: every draw comes from simclr/rng.ts keyed by (seed, epoch, image index, view), so a view
 * is a pure function of (image, params, key) and can be recomputed anywhere.
 *
 * Why TypeScript over typed arrays rather than sharp for the per-view ops (measured with
 * bench/augment.ts, Node 20, 2-core AMD EPYC dev machine, best of 3 runs of 2048 images):
 *   - speed, one thread: 28×28×1 ≈ 90k views/s (≈ 57k with blur), 32×32×3 ≈ 20k views/s (≈ 13k with
 *     blur); the same ops in sharp (extract + linear resize + flop + modulate + linear + blur, all
 *     images in flight on libuv's 4-thread pool): 0.6–0.85k views/s for either shape, i.e. 15–20×
 *     slower at 32×32×3 and ~70× at 28×28×1. At 28–32 px a view is a few thousand pixels of work,
 *     and sharp's per-call cost (pipeline setup, thread hop, promise) dominates;
 *   - reproducibility: the TS ops are IEEE double arithmetic in a fixed order, identical on every
 *     machine (the only transcendental calls, Math.log/exp/sqrt for the crop and the blur kernel, are
 *     V8's platform-independent fdlibm port or correctly rounded; test/unit/augment.test.ts pins a
 *     golden SHA-256), whereas libvips picks SIMD code paths (Highway, orc) per CPU and fixed-point
 *     kernels whose rounding may differ between builds and machines.
 * sharp still does what it is best at: decoding and resizing the source images once, at sharding time
 * (simclr/datasets/decode.ts).
 *
 * @example
 *   const [v1, v2] = augmentPair(image, { height: 32, width: 32, channels: 3 }, params, { seed, epoch, index });
 */
import { PAPER_DEFAULTS } from '../config/defaults';
import type { AugmentationConfig } from '../config/schema';
import type { ImageShape } from './images';
import { Rng, RNG_STREAMS } from './rng';

/**
 * The augmentation config with its size-dependent values (colorStrength, blurProbability) resolved
 * (config/resolve.ts); lookaheadEpochs is a scheduling knob and does not affect the views.
 */
export type AugmentParams = Required<Omit<AugmentationConfig, 'lookaheadEpochs'>>;

/** Key of one image's pair of views. */
export interface ViewKey {
  seed: number;
  epoch: number;
  /** The image's index in the dataset split (not in the shard), so re-sharding keeps the views. */
  index: number;
}

/** Everything random about one view, drawn before any pixel is touched. */
export interface ViewDraw {
  crop: { top: number; left: number; height: number; width: number };
  flip: boolean;
  jitter: {
    apply: boolean;
    /** Order of the four ops: 0 brightness, 1 contrast, 2 saturation, 3 hue. */
    order: number[];
    brightness: number;
    contrast: number;
    saturation: number;
    /** Hue shift in turns (1 = 360°). */
    hue: number;
  };
  grayscale: boolean;
  blur: { apply: boolean; sigma: number };
}

const CROP_ATTEMPTS = 10;
/** ITU-R 601-2 luma, as PIL and torchvision's rgb_to_grayscale. */
const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

/** Colour jitter magnitudes for strength s: [SimCLR] App. A, brightness/contrast/saturation 0.8·s, hue 0.2·s. */
export function jitterStrengths(colorStrength: number): {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
} {
  const s = colorStrength;
  return { brightness: 0.8 * s, contrast: 0.8 * s, saturation: 0.8 * s, hue: Math.min(0.5, 0.2 * s) };
}

/** Gaussian blur kernel size for an image side: 10 % of the side, made odd (≥ 1; 1 means no blur). */
export function blurKernelSize(side: number): number {
  const radius = Math.floor(Math.floor(side * PAPER_DEFAULTS.augmentation.blurKernelFraction) / 2);
  return 2 * radius + 1;
}

function checkShape(image: Uint8Array, shape: ImageShape, what: string): void {
  const { height, width, channels } = shape;
  if (!(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0)) {
    throw new Error(`${what}: bad image shape ${height}x${width}x${channels}`);
  }
  if (channels !== 1 && channels !== 3)
    throw new Error(`${what}: channels must be 1 or 3 (got ${String(channels)})`);
  if (image.length % (height * width * channels) !== 0) {
    throw new Error(
      `${what}: ${image.length} bytes is not a whole number of ${height}x${width}x${channels} images`,
    );
  }
}

/** torchvision RandomResizedCrop.get_params, with every draw from `rng`. */
function drawCrop(height: number, width: number, p: AugmentParams, rng: Rng): ViewDraw['crop'] {
  const area = height * width;
  const logRatioMin = Math.log(p.aspectRatioMin);
  const logRatioMax = Math.log(p.aspectRatioMax);
  for (let attempt = 0; attempt < CROP_ATTEMPTS; attempt++) {
    const targetArea = area * rng.uniformRange(p.cropAreaMin, p.cropAreaMax);
    const ratio = Math.exp(rng.uniformRange(logRatioMin, logRatioMax));
    const w = Math.round(Math.sqrt(targetArea * ratio));
    const h = Math.round(Math.sqrt(targetArea / ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  // Fallback: the largest centred crop whose ratio is inside the range.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < p.aspectRatioMin) h = Math.round(w / p.aspectRatioMin);
  else if (inRatio > p.aspectRatioMax) w = Math.round(h * p.aspectRatioMax);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Draws every random decision of one view, in a fixed order (crop, flip, jitter, grayscale, blur).
 * Jitter factors and blur σ are drawn whether or not they apply, so the stream layout never depends
 * on the outcome of a coin.
 */
export function drawView(shape: ImageShape, params: AugmentParams, rng: Rng): ViewDraw {
  const crop = drawCrop(shape.height, shape.width, params, rng);
  const flip = rng.bernoulli(params.flipProbability);
  const k = jitterStrengths(params.colorStrength);
  const jitterApply = rng.bernoulli(params.colorJitterProbability);
  const order = rng.shuffle([0, 1, 2, 3]);
  const brightness = rng.uniformRange(Math.max(0, 1 - k.brightness), 1 + k.brightness);
  const contrast = rng.uniformRange(Math.max(0, 1 - k.contrast), 1 + k.contrast);
  const saturation = rng.uniformRange(Math.max(0, 1 - k.saturation), 1 + k.saturation);
  const hue = rng.uniformRange(-k.hue, k.hue);
  const grayscale = rng.bernoulli(params.grayscaleProbability);
  const blurApply = rng.bernoulli(params.blurProbability);
  const sigma = rng.uniformRange(params.blurSigmaMin, params.blurSigmaMax);
  return {
    crop,
    flip,
    jitter: { apply: jitterApply, order, brightness, contrast, saturation, hue },
    grayscale,
    blur: { apply: blurApply, sigma },
  };
}

// --- pixel ops on a float [0, 1] HWC buffer ---------------------------------------------------------

/** Bilinear resize of the crop to h×w (half-pixel centres), optional mirror, scaled to [0, 1]. */
function cropResizeFlip(
  src: Uint8Array,
  srcOffset: number,
  shape: ImageShape,
  crop: ViewDraw['crop'],
  flip: boolean,
  out: Float32Array,
): void {
  const { height: H, width: W, channels: C } = shape;
  const rowStride = W * C;
  const sy = crop.height / H;
  const sx = crop.width / W;
  const x0s = new Int32Array(W);
  const x1s = new Int32Array(W);
  const wxs = new Float64Array(W);
  for (let x = 0; x < W; x++) {
    let fx = (x + 0.5) * sx - 0.5;
    if (fx < 0) fx = 0;
    let x0 = Math.floor(fx);
    if (x0 > crop.width - 1) x0 = crop.width - 1;
    const x1 = x0 + 1 < crop.width ? x0 + 1 : crop.width - 1;
    const dst = flip ? W - 1 - x : x;
    x0s[dst] = (crop.left + x0) * C;
    x1s[dst] = (crop.left + x1) * C;
    wxs[dst] = fx - x0;
  }
  const scale = 1 / 255;
  for (let y = 0; y < H; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy);
    if (y0 > crop.height - 1) y0 = crop.height - 1;
    const y1 = y0 + 1 < crop.height ? y0 + 1 : crop.height - 1;
    const wy = fy - y0;
    const r0 = srcOffset + (crop.top + y0) * rowStride;
    const r1 = srcOffset + (crop.top + y1) * rowStride;
    let o = y * W * C;
    for (let x = 0; x < W; x++) {
      const a = x0s[x];
      const b = x1s[x];
      const wx = wxs[x];
      for (let c = 0; c < C; c++) {
        const top = src[r0 + a + c] + (src[r0 + b + c] - src[r0 + a + c]) * wx;
        const bottom = src[r1 + a + c] + (src[r1 + b + c] - src[r1 + a + c]) * wx;
        out[o++] = (top + (bottom - top) * wy) * scale;
      }
    }
  }
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

function adjustBrightness(buf: Float32Array, f: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] = clamp01(buf[i] * f);
}

function meanLuma(buf: Float32Array, C: number): number {
  let sum = 0;
  if (C === 1) for (let i = 0; i < buf.length; i++) sum += buf[i];
  else
    for (let i = 0; i < buf.length; i += 3)
      sum += LUMA_R * buf[i] + LUMA_G * buf[i + 1] + LUMA_B * buf[i + 2];
  return sum / (buf.length / C);
}

/** Blend with the image's mean luma: v' = f·v + (1 − f)·mean. */
function adjustContrast(buf: Float32Array, C: number, f: number): void {
  const m = (1 - f) * meanLuma(buf, C);
  for (let i = 0; i < buf.length; i++) buf[i] = clamp01(f * buf[i] + m);
}

/** Blend with the pixel's own luma: v' = f·v + (1 − f)·luma (3 channels only). */
function adjustSaturation(buf: Float32Array, f: number): void {
  for (let i = 0; i < buf.length; i += 3) {
    const g = (1 - f) * (LUMA_R * buf[i] + LUMA_G * buf[i + 1] + LUMA_B * buf[i + 2]);
    buf[i] = clamp01(f * buf[i] + g);
    buf[i + 1] = clamp01(f * buf[i + 1] + g);
    buf[i + 2] = clamp01(f * buf[i + 2] + g);
  }
}

/** Rotates hue by `shift` turns through HSV (torchvision's adjust_hue). */
function adjustHue(buf: Float32Array, shift: number): void {
  for (let i = 0; i < buf.length; i += 3) {
    const r = buf[i];
    const g = buf[i + 1];
    const b = buf[i + 2];
    const v = r > g ? (r > b ? r : b) : g > b ? g : b;
    const mn = r < g ? (r < b ? r : b) : g < b ? g : b;
    const chroma = v - mn;
    if (chroma === 0) continue; // gray: hue undefined, unchanged
    const s = chroma / v;
    let h: number;
    if (v === r) h = (g - b) / chroma;
    else if (v === g) h = 2 + (b - r) / chroma;
    else h = 4 + (r - g) / chroma;
    h = h / 6 + shift;
    h -= Math.floor(h);
    const h6 = h * 6;
    let sector = Math.floor(h6);
    const f = h6 - sector;
    if (sector >= 6) sector = 0;
    const p = clamp01(v * (1 - s));
    const q = clamp01(v * (1 - s * f));
    const t = clamp01(v * (1 - s * (1 - f)));
    let R: number, G: number, B: number;
    switch (sector) {
      case 0:
        R = v;
        G = t;
        B = p;
        break;
      case 1:
        R = q;
        G = v;
        B = p;
        break;
      case 2:
        R = p;
        G = v;
        B = t;
        break;
      case 3:
        R = p;
        G = q;
        B = v;
        break;
      case 4:
        R = t;
        G = p;
        B = v;
        break;
      default:
        R = v;
        G = p;
        B = q;
        break;
    }
    buf[i] = R;
    buf[i + 1] = G;
    buf[i + 2] = B;
  }
}

function toGrayscale(buf: Float32Array): void {
  for (let i = 0; i < buf.length; i += 3) {
    const g = LUMA_R * buf[i] + LUMA_G * buf[i + 1] + LUMA_B * buf[i + 2];
    buf[i] = g;
    buf[i + 1] = g;
    buf[i + 2] = g;
  }
}

/** Normalised 1-D Gaussian taps of the given odd size. */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  const radius = (size - 1) / 2;
  const k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const d = i - radius;
    k[i] = Math.exp(-(d * d) / (2 * sigma * sigma));
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/** Reflect index (…2 1 | 0 1 2 … n−1 | n−2 …), as torch's 'reflect' padding. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/** For each output position and tap, the reflected source offset (position × stride). */
function reflectedTaps(n: number, size: number, stride: number): Int32Array {
  const r = (size - 1) / 2;
  const taps = new Int32Array(n * size);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < size; t++) taps[i * size + t] = reflect(i + t - r, n) * stride;
  return taps;
}

/** Separable Gaussian blur, horizontal then vertical pass, reflect padding. */
function gaussianBlur(buf: Float32Array, shape: ImageShape, sigma: number, tmp: Float32Array): void {
  const { height: H, width: W, channels: C } = shape;
  const size = blurKernelSize(Math.min(H, W));
  if (size < 3) return;
  const k = gaussianKernel(size, sigma);
  const tx = reflectedTaps(W, size, C);
  const ty = reflectedTaps(H, size, W * C);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < W; x++) {
      const taps = x * size;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let t = 0; t < size; t++) acc += k[t] * buf[row + tx[taps + t] + c];
        tmp[row + x * C + c] = acc;
      }
    }
  }
  for (let y = 0; y < H; y++) {
    const taps = y * size;
    for (let x = 0; x < W * C; x++) {
      let acc = 0;
      for (let t = 0; t < size; t++) acc += k[t] * tmp[ty[taps + t] + x];
      buf[y * W * C + x] = acc;
    }
  }
}

/** Two reusable float buffers (the pipeline is synchronous, so one set per process is enough). */
const scratchBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
function scratch(which: 0 | 1, n: number): Float32Array {
  if (scratchBuffers[which].length < n) scratchBuffers[which] = new Float32Array(n);
  return scratchBuffers[which].subarray(0, n);
}

/**
 * Applies a drawn view to the image starting at `srcOffset` of `src` and writes uint8 HWC into
 * `out` at `outOffset`. Deterministic: no randomness here.
 */
export function applyView(
  src: Uint8Array,
  shape: ImageShape,
  draw: ViewDraw,
  out: Uint8Array = new Uint8Array(shape.height * shape.width * shape.channels),
  srcOffset = 0,
  outOffset = 0,
): Uint8Array {
  const n = shape.height * shape.width * shape.channels;
  const buf = scratch(0, n);
  cropResizeFlip(src, srcOffset, shape, draw.crop, draw.flip, buf);
  const color = shape.channels === 3;
  if (draw.jitter.apply) {
    for (const op of draw.jitter.order) {
      if (op === 0) adjustBrightness(buf, draw.jitter.brightness);
      else if (op === 1) adjustContrast(buf, shape.channels, draw.jitter.contrast);
      else if (op === 2 && color) adjustSaturation(buf, draw.jitter.saturation);
      else if (op === 3 && color && draw.jitter.hue !== 0) adjustHue(buf, draw.jitter.hue);
    }
  }
  if (draw.grayscale && color) toGrayscale(buf);
  if (draw.blur.apply) gaussianBlur(buf, shape, draw.blur.sigma, scratch(1, n));
  for (let i = 0; i < n; i++) out[outOffset + i] = Math.floor(clamp01(buf[i]) * 255 + 0.5);
  return out;
}

/** One augmented view of `image` (uint8 HWC of `shape`), every draw from `rng`. */
export function augmentView(
  image: Uint8Array,
  shape: ImageShape,
  params: AugmentParams,
  rng: Rng,
): Uint8Array {
  checkShape(image, shape, 'augmentView');
  if (image.length !== shape.height * shape.width * shape.channels) {
    throw new Error(
      `augmentView: ${image.length} bytes for one ${shape.height}x${shape.width}x${shape.channels} image`,
    );
  }
  return applyView(image, shape, drawView(shape, params, rng));
}

/** The two views of one image: streams (seed, epoch, index, view 0) and (…, view 1). */
export function augmentPair(
  image: Uint8Array,
  shape: ImageShape,
  params: AugmentParams,
  key: ViewKey,
): [Uint8Array, Uint8Array] {
  return [
    augmentView(image, shape, params, new Rng({ ...key, view: RNG_STREAMS.view1 })),
    augmentView(image, shape, params, new Rng({ ...key, view: RNG_STREAMS.view2 })),
  ];
}

/**
 * Both views of N consecutive images (`pixels` = N × h × w × c bytes) whose dataset indices are
 * firstIndex, firstIndex + 1, …; view1[i] and view2[i] are the pair of image i, laid out like `pixels`.
 */
export function augmentBatch(
  pixels: Uint8Array,
  shape: ImageShape,
  params: AugmentParams,
  seed: number,
  epoch: number,
  firstIndex: number,
): { view1: Uint8Array; view2: Uint8Array } {
  checkShape(pixels, shape, 'augmentBatch');
  const size = shape.height * shape.width * shape.channels;
  const count = pixels.length / size;
  const view1 = new Uint8Array(pixels.length);
  const view2 = new Uint8Array(pixels.length);
  for (let i = 0; i < count; i++) {
    const index = firstIndex + i;
    const o = i * size;
    applyView(
      pixels,
      shape,
      drawView(shape, params, new Rng({ seed, epoch, index, view: RNG_STREAMS.view1 })),
      view1,
      o,
      o,
    );
    applyView(
      pixels,
      shape,
      drawView(shape, params, new Rng({ seed, epoch, index, view: RNG_STREAMS.view2 })),
      view2,
      o,
      o,
    );
  }
  return { view1, view2 };
}

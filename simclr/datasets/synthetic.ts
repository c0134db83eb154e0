/**
 * A generated, labelled image dataset for when no real one is installed: ten classes of shapes
 * (circle, ring, square, triangle, cross, star, stripes, crescent, checker, dots), drawn as SVG and
 * rendered to PNG with sharp, in the image-folder layout the folder reader takes as given splits:
 *
 *     <dir>/train/<class>/00000.png … <dir>/test/<class>/00000.png
 *
 * Each image varies in everything but its class, so the class is the only thing two images of it
 * share and SimCLR's crops and colour jitter do not make the task trivial: position (the shape may
 * sit anywhere, partly off-centre), size (radius 45–90 % of half the side), rotation (any angle),
 * foreground and background brightness and tint (foreground brighter than background, whose levels
 * both vary), a brightness gradient in a random direction and per-pixel noise on the background.
 *
 * Every draw comes from simclr/rng.ts keyed by (seed, split, image index), so the same options give
 * the same pixels on every run. The folder is committed by a `.complete` marker holding the options,
 * written last: a second call with the same options returns at once, other options regenerate it.
 *
 * @example
 *   const ds = await generateShapesDataset('/tmp/shapes', { imagesPerClass: 600, size: 28, seed: 0 });
 *   ds.counts; // { train: 6000, test: 2000 }  (test: a third of imagesPerClass by default)
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng, RNG_STREAMS } from '../rng';

/** The classes, in label order (the folder reader sorts class folders by code point; these are sorted). */
export const SHAPE_CLASSES = [
  'checker',
  'circle',
  'crescent',
  'cross',
  'dots',
  'ring',
  'square',
  'star',
  'stripes',
  'triangle',
] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

export interface ShapesOptions {
  /** Training images per class. */
  imagesPerClass: number;
  /** Test images per class; default ⌈imagesPerClass / 3⌉ (Fashion-MNIST's demo subset has 6000 / 2000). */
  testImagesPerClass?: number;
  /** Side of the square images in pixels. */
  size: number;
  /** Seed of every draw. */
  seed: number;
}

export interface ShapesDataset {
  dir: string;
  classNames: string[];
  counts: { train: number; test: number };
  /** False when the folder was already complete with these options and nothing was written. */
  generated: boolean;
}

/** Written last: the options the folder was generated with. */
export const COMPLETE_MARKER = '.complete';
/** Written first: the folder is ours to overwrite, even when a generation was interrupted. */
const GENERATING_MARKER = '.generating';
/** Bumped whenever the drawing changes, so that old folders are regenerated. */
const GENERATOR_VERSION = 1;
/** Images rendered at once: sharp runs each on libuv's thread pool. */
const CONCURRENCY = 8;

type Rgb = [number, number, number];
const css = ([r, g, b]: Rgb) => `rgb(${r},${g},${b})`;
const clampByte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
const f = (v: number) => v.toFixed(3);

/** The shape of a class in unit coordinates (about the disc of radius 1 around the origin), filled with `fill`. */
function shapeSvg(shape: ShapeClass, fill: string): string {
  switch (shape) {
    case 'circle':
      return `<circle r="0.8" fill="${fill}"/>`;
    case 'ring':
      return `<circle r="0.7" fill="none" stroke="${fill}" stroke-width="0.3"/>`;
    case 'square':
      return `<rect x="-0.7" y="-0.7" width="1.4" height="1.4" fill="${fill}"/>`;
    case 'triangle':
      return `<polygon points="0,-0.95 0.823,0.475 -0.823,0.475" fill="${fill}"/>`;
    case 'cross':
      return `<path d="M-0.9,-0.25H0.9V0.25H-0.9Z M-0.25,-0.9H0.25V0.9H-0.25Z" fill="${fill}"/>`;
    case 'star': {
      const points = Array.from({ length: 10 }, (_, i) => {
        const r = i % 2 === 0 ? 0.95 : 0.4;
        const a = -Math.PI / 2 + (i * Math.PI) / 5;
        return `${f(r * Math.cos(a))},${f(r * Math.sin(a))}`;
      });
      return `<polygon points="${points.join(' ')}" fill="${fill}"/>`;
    }
    case 'stripes':
      return [-0.75, -0.15, 0.45]
        .map((y) => `<rect x="-0.8" y="${y}" width="1.6" height="0.3" fill="${fill}"/>`)
        .join('');
    case 'crescent':
      // The outer disc (r 0.8) less a disc of r 0.7 shifted right by 0.35: their crossings are (0.389, ±0.699).
      return `<path d="M0.389,-0.699 A0.8,0.8 0 1 0 0.389,0.699 A0.7,0.7 0 1 1 0.389,-0.699 Z" fill="${fill}"/>`;
    case 'checker':
      return `<rect x="-0.8" y="-0.8" width="0.8" height="0.8" fill="${fill}"/><rect x="0" y="0" width="0.8" height="0.8" fill="${fill}"/>`;
    case 'dots':
      return [
        [-0.45, -0.45],
        [0.45, -0.45],
        [-0.45, 0.45],
        [0.45, 0.45],
      ]
        .map(([x, y]) => `<circle cx="${x}" cy="${y}" r="0.28" fill="${fill}"/>`)
        .join('');
  }
}

/** A gray level with a random tint of ±`tint` per channel. */
function tinted(rng: Rng, level: number, tint: number): Rgb {
  return [0, 1, 2].map(() => clampByte(level + rng.uniformRange(-tint, tint))) as Rgb;
}

/**
 * One image as PNG bytes: a noisy, shaded background (raw pixels from the RNG) with the class's shape
 * composited on top (SVG rendered by sharp's librsvg).
 */
export async function renderShape(shape: ShapeClass, size: number, rng: Rng): Promise<Buffer> {
  const half = size / 2;
  const radius = half * rng.uniformRange(0.45, 0.9);
  // The centre keeps at least ~60 % of the shape inside the image.
  const slack = half - 0.6 * radius;
  const cx = half + rng.uniformRange(-slack, slack);
  const cy = half + rng.uniformRange(-slack, slack);
  const angle = rng.uniformRange(0, 360);
  const foreground = tinted(rng, rng.uniformRange(150, 255), 40);
  const background = tinted(rng, rng.uniformRange(0, 100), 20);
  const noise = rng.uniformRange(5, 35);
  const gradient = rng.uniformRange(0, 30);
  const gradientAngle = rng.uniformRange(0, 2 * Math.PI);
  const gx = Math.cos(gradientAngle) / half;
  const gy = Math.sin(gradientAngle) / half;

  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const shade = gradient * ((x - half) * gx + (y - half) * gy);
      for (let c = 0; c < 3; c++)
        pixels[(y * size + x) * 3 + c] = clampByte(background[c] + shade + rng.uniformRange(-noise, noise));
    }
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">` +
    `<g transform="translate(${f(cx)} ${f(cy)}) rotate(${f(angle)}) scale(${f(radius)})">${shapeSvg(shape, css(foreground))}</g></svg>`;
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .composite([{ input: Buffer.from(svg) }])
    .png()
    .toBuffer();
}

function checkOptions(o: ShapesOptions): Required<ShapesOptions> {
  const positive = (name: string, v: number | undefined) => {
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new Error(`generateShapesDataset: ${name} must be a positive integer (got ${v})`);
  };
  positive('imagesPerClass', o.imagesPerClass);
  const testImagesPerClass = o.testImagesPerClass ?? Math.ceil(o.imagesPerClass / 3);
  positive('testImagesPerClass', testImagesPerClass);
  if (!Number.isInteger(o.size) || o.size < 8 || o.size > 1024)
    throw new Error(`generateShapesDataset: size must be an integer in [8, 1024] (got ${o.size})`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0)
    throw new Error(`generateShapesDataset: seed must be a non-negative integer (got ${o.seed})`);
  return { imagesPerClass: o.imagesPerClass, testImagesPerClass, size: o.size, seed: o.seed };
}

async function readMarker(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * Writes the shapes dataset into `dir` (created if needed) unless it is already complete with these
 * options. Refuses a non-empty folder it did not write, so it never deletes someone's files.
 */
export async function generateShapesDataset(dir: string, options: ShapesOptions): Promise<ShapesDataset> {
  const o = checkOptions(options);
  const params = { generator: 'simclr-shapes', version: GENERATOR_VERSION, classes: SHAPE_CLASSES, ...o };
  const counts = {
    train: o.imagesPerClass * SHAPE_CLASSES.length,
    test: o.testImagesPerClass * SHAPE_CLASSES.length,
  };
  const result = { dir, classNames: [...SHAPE_CLASSES], counts };
  const marker = join(dir, COMPLETE_MARKER);
  if (JSON.stringify(await readMarker(marker)) === JSON.stringify(params))
    return { ...result, generated: false };

  if (existsSync(dir)) {
    const entries = await readdir(dir);
    const ours = entries.includes(COMPLETE_MARKER) || entries.includes(GENERATING_MARKER);
    if (entries.length > 0 && !ours) {
      throw new Error(
        `generateShapesDataset: ${dir} is not empty and was not written by this generator; give an empty or new folder`,
      );
    }
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, GENERATING_MARKER), JSON.stringify(params));
  await rm(marker, { force: true });
  for (const split of ['train', 'test'] as const)
    await rm(join(dir, split), { recursive: true, force: true });

  for (const [splitIndex, split] of (['train', 'test'] as const).entries()) {
    const perClass = split === 'train' ? o.imagesPerClass : o.testImagesPerClass;
    for (const name of SHAPE_CLASSES) await mkdir(join(dir, split, name), { recursive: true });
    await pool(perClass * SHAPE_CLASSES.length, CONCURRENCY, async (index) => {
      const label = Math.floor(index / perClass);
      const rng = new Rng({ seed: o.seed, epoch: splitIndex, index, view: RNG_STREAMS.syntheticShapes });
      const png = await renderShape(SHAPE_CLASSES[label], o.size, rng);
      await writeFile(
        join(dir, split, SHAPE_CLASSES[label], `${String(index % perClass).padStart(5, '0')}.png`),
        png,
      );
    });
  }
  await writeFile(marker, JSON.stringify(params));
  await rm(join(dir, GENERATING_MARKER), { force: true });
  return { ...result, generated: true };
}

/**
 * The report's charts, from the metric records and the results: pretraining loss and learning rate
 * against the step, the kNN monitor against the epoch (with the random-init encoder's and the raw
 * pixels' kNN accuracy as dashed lines), the contrastive accuracy when recorded, and top-1 accuracy
 * per label fraction as bars with the baselines beside (random-init encoder, raw pixels, supervised
 * from scratch). Vega-Lite specs (./chart-specs.ts) rendered headless to SVG (./vega.ts), with the
 * compiled spec for the page's interactive view and a PNG copy (sharp, librsvg) for charts/<name>.png.
 *
 * ```ts
 * const charts = await renderReportCharts(report, metrics); // [{ name: 'loss', title, svg, spec, png }, ...]
 * ```
 */
import sharp from 'sharp';
import { barChartSpec, lineChartSpec, type LineSeries, type Point } from './chart-specs';
import type { MetricRecord } from './metrics';
import type { RunReport } from './report';
import { COLORS, renderVegaLite, type TopLevelSpec, type VegaSpec } from './vega';

/** A chart as the report shows and stores it. */
export interface Chart {
  /** File name without extension: charts/<name>.png. */
  name: string;
  title: string;
  /** The static chart (inline in the HTML, source of the PNG). */
  svg: string;
  /** The compiled Vega spec of the interactive view. */
  spec: VegaSpec;
  png: Buffer;
}

/** A chart's Vega-Lite spec before rendering, and the static variant when it differs. */
export interface ChartSpec {
  name: string;
  title: string;
  spec: TopLevelSpec;
  staticSpec?: TopLevelSpec;
}

/** At most this many points per polyline; longer runs are averaged in equal buckets of consecutive points. */
const MAX_POINTS = 1000;

/**
 * Rasterises an SVG with sharp. `scale` 2 renders at twice the SVG's size (crisp on high-DPI screens;
 * the HTML shows it at the SVG size). SVG is rendered at 72 DPI by librsvg, so density = 72 × scale.
 */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Bucket means of consecutive points, so a 100k-step run still draws as a readable 1000-point line. */
export function downsample(points: Point[], max = MAX_POINTS): Point[] {
  if (points.length <= max) return points;
  const out: Point[] = [];
  const size = points.length / max;
  for (let b = 0; b < max; b++) {
    const slice = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (slice.length === 0) continue;
    out.push({
      x: slice.reduce((a, p) => a + p.x, 0) / slice.length,
      y: slice.reduce((a, p) => a + p.y, 0) / slice.length,
    });
  }
  return out;
}

/**
 * Exponential moving average with bias correction (as in TensorBoard's smoothing), with a window of
 * about 1/30 of the run: weight w = 1 - 30/n, clamped to [0.6, 0.99].
 */
export function smooth(points: Point[]): Point[] {
  const w = Math.min(0.99, Math.max(0.6, 1 - 30 / Math.max(1, points.length)));
  let ema = 0;
  return points.map((p, i) => {
    ema = w * ema + (1 - w) * p.y;
    return { x: p.x, y: ema / (1 - w ** (i + 1)) };
  });
}

function series(
  records: readonly MetricRecord[],
  pick: (r: MetricRecord) => boolean,
  x: (r: MetricRecord) => number | undefined,
): Point[] {
  const points: Point[] = [];
  for (const r of records) {
    if (!pick(r)) continue;
    const xv = x(r);
    if (xv !== undefined) points.push({ x: xv, y: r.value });
  }
  return points.sort((a, b) => a.x - b.x);
}

/** A record of the SimCLR encoder itself (not of a baseline). */
const pretrained = (r: MetricRecord) => r.encoder === undefined || r.encoder === 'pretrained';

/** '1 %', '10 %', '0.5 %'. */
export function formatFraction(f: number): string {
  return `${Number((f * 100).toPrecision(3))} %`;
}

/** The Vega-Lite specs of the report's charts (those with data), in display order. */
export function reportChartSpecs(
  report: RunReport | undefined,
  metrics: readonly MetricRecord[],
): ChartSpec[] {
  const out: ChartSpec[] = [];

  const loss = series(
    metrics,
    (r) => r.stage === 'pretrain' && r.name === 'loss' && pretrained(r),
    (r) => r.step,
  );
  if (loss.length > 0) {
    const lines: LineSeries[] =
      loss.length > 20
        ? [
            {
              label: 'NT-Xent loss',
              color: COLORS.simclrLight,
              points: downsample(loss),
              strokeWidth: 1.2,
              markers: false,
            },
            {
              label: 'smoothed (EMA)',
              color: COLORS.simclr,
              points: downsample(smooth(loss)),
              strokeWidth: 2.2,
              markers: false,
            },
          ]
        : [{ label: 'NT-Xent loss', color: COLORS.simclr, points: loss }];
    const title = 'Pretraining loss';
    out.push({
      name: 'loss',
      title,
      ...lineChartSpec({ title, xLabel: 'step', yLabel: 'NT-Xent loss', series: lines, xInteger: true }),
    });
  }

  const lr = series(
    metrics,
    (r) => r.stage === 'pretrain' && r.name === 'lr' && pretrained(r),
    (r) => r.step,
  );
  if (lr.length > 0) {
    const title = 'Learning rate (warm-up, then cosine decay)';
    out.push({
      name: 'learning-rate',
      title,
      ...lineChartSpec({
        title,
        xLabel: 'step',
        yLabel: 'learning rate',
        series: [
          { label: 'learning rate', color: COLORS.lr, points: downsample(lr), markers: lr.length <= 40 },
        ],
        yMin: 0,
        xInteger: true,
      }),
    });
  }

  const knn = series(
    metrics,
    (r) => r.name === 'knn_top1' && pretrained(r),
    (r) => r.epoch,
  ).map((p) => ({ x: p.x, y: p.y * 100 }));
  if (knn.length > 0) {
    const lines: LineSeries[] = [{ label: 'SimCLR encoder', color: COLORS.knn, points: knn }];
    const xs = knn.map((p) => p.x);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const level = (label: string, color: string, top1: number | undefined) => {
      if (top1 === undefined) return;
      lines.push({
        label,
        color,
        dashed: true,
        markers: false,
        points: [
          { x: x0, y: top1 * 100 },
          { x: x1 === x0 ? x0 + 1 : x1, y: top1 * 100 },
        ],
      });
    };
    level('random-init encoder', COLORS.baseline, report?.results?.baseline?.knn.top1);
    level('raw pixels', COLORS.pixels, report?.results?.baselines?.pixels?.knn.top1);
    const k = report?.results?.knn.k;
    const title = `kNN monitor${k ? ` (k = ${k})` : ''}: top-1 accuracy on the test split`;
    out.push({
      name: 'knn',
      title,
      ...lineChartSpec({
        title,
        xLabel: 'epoch',
        yLabel: 'kNN top-1 (%)',
        series: lines,
        yMin: 0,
        xInteger: true,
      }),
    });
  }

  const acc = series(
    metrics,
    (r) => r.stage === 'pretrain' && r.name === 'contrastive_acc' && pretrained(r),
    (r) => r.step,
  ).map((p) => ({ x: p.x, y: p.y * 100 }));
  if (acc.length > 0) {
    const title = 'Contrastive accuracy (positive ranked first among 2N-1)';
    out.push({
      name: 'contrastive-accuracy',
      title,
      ...lineChartSpec({
        title,
        xLabel: 'step',
        yLabel: 'contrastive accuracy (%)',
        series: [
          {
            label: acc.length > 20 ? 'contrastive accuracy (smoothed)' : 'contrastive accuracy',
            color: COLORS.simclr,
            points: downsample(acc.length > 20 ? smooth(acc) : acc),
          },
        ],
        yMin: 0,
        xInteger: true,
      }),
    });
  }

  const results = report?.results;
  if (results) {
    const categories: string[] = [];
    const ours: (number | undefined)[] = [];
    const theirs: (number | undefined)[] = [];
    for (const f of [...results.fineTune].sort((a, b) => a.fraction - b.fraction)) {
      categories.push(`${formatFraction(f.fraction)} labels\nfine-tuned`);
      ours.push(f.top1 * 100);
      theirs.push(undefined);
    }
    categories.push('100 % labels\nlinear eval');
    ours.push(results.linear.top1 * 100);
    theirs.push(results.baseline ? results.baseline.linear.top1 * 100 : undefined);
    categories.push(`kNN${results.knn.k ? ` (k = ${results.knn.k})` : ''}\nfrozen features`);
    ours.push(results.knn.top1 * 100);
    theirs.push(results.baseline ? results.baseline.knn.top1 * 100 : undefined);
    // The other baselines beside each bar: raw pixels (frozen evaluations), and training from scratch
    // on the same labels (the label fractions; all labels for pretrain.epochs: the supervised bound).
    const b = results.baselines;
    const pixels = [
      ...results.fineTune.map(() => undefined),
      b?.pixels && b.pixels.linear.top1 * 100,
      b?.pixels && b.pixels.knn.top1 * 100,
    ];
    const scratch = [
      ...[...results.fineTune]
        .sort((x, y) => x.fraction - y.fraction)
        .map((f) => b?.scratchFineTune?.find((s) => s.fraction === f.fraction)),
    ].map((s) => s && s.top1 * 100);
    scratch.push(b?.supervised && b.supervised.top1 * 100, undefined);
    const title = 'Top-1 test accuracy by label fraction';
    out.push({
      name: 'accuracy',
      title,
      spec: barChartSpec({
        title,
        yLabel: 'top-1 accuracy (%)',
        categoryName: 'evaluation',
        seriesName: 'encoder',
        categories,
        series: [
          { label: 'SimCLR encoder', color: COLORS.simclr, values: ours },
          ...(results.baseline
            ? [{ label: 'random-init encoder', color: COLORS.baseline, values: theirs }]
            : []),
          ...(b?.pixels ? [{ label: 'raw pixels', color: COLORS.pixels, values: pixels }] : []),
          ...(scratch.some((v) => v !== undefined)
            ? [{ label: 'supervised from scratch', color: COLORS.scratch, values: scratch }]
            : []),
        ],
        yMax: 100,
      }),
    });
  }
  return out;
}

/** Renders chart specs to SVG, the interactive Vega spec and a PNG at `scale` × the SVG's size. */
export async function renderCharts(specs: readonly ChartSpec[], scale = 2): Promise<Chart[]> {
  const out: Chart[] = [];
  for (const c of specs) {
    const { svg, spec } = await renderVegaLite(c.spec, { staticSpec: c.staticSpec });
    out.push({ name: c.name, title: c.title, svg, spec, png: await svgToPng(svg, scale) });
  }
  return out;
}

/** The report's charts, rendered (charts without data are left out). */
export async function renderReportCharts(
  report: RunReport | undefined,
  metrics: readonly MetricRecord[],
  scale = 2,
): Promise<Chart[]> {
  return renderCharts(reportChartSpecs(report, metrics), scale);
}

/**
 * The sweep report's charts: linear and kNN top-1 per variant as grouped bars, and the variants'
 * pretraining loss curves overlaid against the epoch (steps differ with the batch size, epochs do not).
 * SVG from ./svg.ts; the caller rasterises them (./charts.ts svgToPng).
 */
import { COLORS, downsample, smooth } from './charts';
import type { SweepReport } from './sweep-report';
import { barChartSvg, lineChartSvg, type LineSeries, type Point } from './svg';

/** One variant's NT-Xent loss, x in epochs (step × epochs / total steps). */
export interface LossCurve {
  variant: string;
  points: Point[];
}

/** Distinct colours for overlaid variants (matplotlib's tab10, which the run report's colours come from). */
export const VARIANT_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** The SVGs of the sweep's charts that have data, in display order. */
export function sweepChartSvgs(
  report: SweepReport,
  lossCurves: readonly LossCurve[],
): { name: string; title: string; svg: string }[] {
  const out: { name: string; title: string; svg: string }[] = [];
  const rows = report.rows.filter((r) => r.linearTop1 !== undefined || r.knnTop1 !== undefined);
  if (rows.length > 0) {
    const title = 'Top-1 test accuracy per variant';
    out.push({
      name: 'accuracy',
      title,
      svg: barChartSvg({
        title,
        yLabel: 'top-1 accuracy (%)',
        categories: rows.map((r) => r.variant.replace(/_/g, '\n')),
        series: [
          {
            label: 'linear evaluation',
            color: COLORS.simclr,
            values: rows.map((r) => (r.linearTop1 === undefined ? undefined : r.linearTop1 * 100)),
          },
          {
            label: 'kNN',
            color: COLORS.knn,
            values: rows.map((r) => (r.knnTop1 === undefined ? undefined : r.knnTop1 * 100)),
          },
        ],
        yMax: 100,
      }),
    });
  }
  const curves = lossCurves.filter((c) => c.points.length > 0);
  if (curves.length > 0) {
    const series: LineSeries[] = curves.map((c, i) => ({
      label: c.variant,
      color: VARIANT_COLORS[i % VARIANT_COLORS.length],
      points: downsample(c.points.length > 20 ? smooth(c.points) : c.points, 400),
      markers: false,
    }));
    const title = 'Pretraining loss per variant (smoothed)';
    out.push({
      name: 'loss',
      title,
      svg: lineChartSvg({ title, xLabel: 'epoch', yLabel: 'NT-Xent loss', series }),
    });
  }
  return out;
}

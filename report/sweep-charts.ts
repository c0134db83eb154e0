/**
 * The sweep report's charts: linear and kNN top-1 per variant as grouped bars, and the variants'
 * pretraining loss curves overlaid against the epoch (steps differ with the batch size, epochs do not).
 * Vega-Lite specs (./chart-specs.ts), rendered like the run report's (./charts.ts renderCharts).
 */
import { barChartSpec, lineChartSpec, type LineSeries, type Point } from './chart-specs';
import { downsample, smooth, type ChartSpec } from './charts';
import type { SweepReport } from './sweep-report';
import { CATEGORY_COLORS, COLORS } from './vega';

/** One variant's NT-Xent loss, x in epochs (step × epochs / total steps). */
export interface LossCurve {
  variant: string;
  points: Point[];
}

/** The specs of the sweep's charts that have data, in display order. */
export function sweepChartSpecs(report: SweepReport, lossCurves: readonly LossCurve[]): ChartSpec[] {
  const out: ChartSpec[] = [];
  const rows = report.rows.filter((r) => r.linearTop1 !== undefined || r.knnTop1 !== undefined);
  if (rows.length > 0) {
    const title = 'Top-1 test accuracy per variant';
    out.push({
      name: 'accuracy',
      title,
      spec: barChartSpec({
        title,
        yLabel: 'top-1 accuracy (%)',
        categoryName: 'variant',
        seriesName: 'evaluation',
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
      color: CATEGORY_COLORS[i % CATEGORY_COLORS.length],
      points: downsample(c.points.length > 20 ? smooth(c.points) : c.points, 400),
      markers: false,
    }));
    const title = 'Pretraining loss per variant (smoothed)';
    out.push({
      name: 'loss',
      title,
      ...lineChartSpec({ title, xLabel: 'epoch', yLabel: 'NT-Xent loss', series, seriesName: 'variant' }),
    });
  }
  return out;
}

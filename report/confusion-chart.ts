/**
 * The confusion matrix of a classifier as a Vega-Lite heatmap: true class down, predicted class
 * across, each cell coloured by the share of its true class (so classes of different sizes compare)
 * and labelled with its count; the tooltip gives both. Render it with ./vega.ts renderVegaLite.
 *
 * ```ts
 * const spec = confusionMatrixSpec({ matrix, classNames: ['T-shirt/top', 'Trouser', ...] });
 * const chart = await renderVegaLite(spec);
 * ```
 */
import type { TopLevelSpec } from './vega';

export interface ConfusionMatrixChart {
  /** matrix[t][p]: test images of true class t predicted as class p (non-negative integers). */
  matrix: number[][];
  classNames: string[];
  title?: string;
  subtitle?: string;
}

/** Side of the square plot in px; the class names go around it. */
const PLOT_SIZE = 520;

/** Validates the matrix against the class names; throws naming the bad row or cell. */
function checkMatrix({ matrix, classNames }: ConfusionMatrixChart): void {
  const n = classNames.length;
  if (n === 0) throw new Error('confusion matrix: no class names');
  if (matrix.length !== n) throw new Error(`confusion matrix: ${matrix.length} rows for ${n} class names`);
  matrix.forEach((row, t) => {
    if (row.length !== n)
      throw new Error(`confusion matrix: row ${t} (${classNames[t]}) has ${row.length} cells, not ${n}`);
    row.forEach((v, p) => {
      if (!Number.isInteger(v) || v < 0)
        throw new Error(`confusion matrix: cell [${t}][${p}] is ${v}, not a count`);
    });
  });
}

/** The heatmap spec: one rect and one count label per (true, predicted) pair. */
export function confusionMatrixSpec(chart: ConfusionMatrixChart): TopLevelSpec {
  checkMatrix(chart);
  const { matrix, classNames } = chart;
  // Class names need not be unique or free of odd characters: index them, show the names.
  const labels = classNames.map((name, i) => (classNames.indexOf(name) === i ? name : `${name} (${i})`));
  const values = matrix.flatMap((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, p) => ({
      true: labels[t],
      predicted: labels[p],
      count,
      share: total > 0 ? count / total : 0,
      correct: t === p,
    }));
  });
  const correct = matrix.reduce((a, row, i) => a + row[i], 0);
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const axisLabels = { labelLimit: 160, labelFontSize: 12 };
  return {
    title: {
      text: chart.title ?? 'Confusion matrix of the linear classifier (test split)',
      subtitle:
        chart.subtitle ??
        `${correct.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} test images on the diagonal` +
          (total > 0 ? ` (${((100 * correct) / total).toFixed(2)} %); colour: share of the true class` : ''),
    },
    width: PLOT_SIZE,
    height: PLOT_SIZE,
    autosize: { type: 'pad' },
    data: { values },
    encoding: {
      x: {
        field: 'predicted',
        type: 'nominal',
        sort: labels,
        title: 'predicted class',
        axis: { ...axisLabels, labelAngle: -40, orient: 'bottom' },
      },
      y: { field: 'true', type: 'nominal', sort: labels, title: 'true class', axis: axisLabels },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            title: ['share of', 'the true class'],
            // sqrt: the few-percent confusions off the diagonal, the ones worth reading, stay visible.
            scale: { type: 'sqrt', domain: [0, 1], range: ['#ffffff', '#08306b'], interpolate: 'rgb' },
            legend: {
              orient: 'right',
              direction: 'vertical',
              format: '.0%',
              values: [0, 0.05, 0.2, 0.5, 1],
              gradientLength: 240,
              titleLimit: 200,
            },
          },
          tooltip: [
            { field: 'true', title: 'true class' },
            { field: 'predicted', title: 'predicted' },
            { field: 'count', type: 'quantitative', title: 'images', format: ',d' },
            { field: 'share', type: 'quantitative', title: 'share of true class', format: '.1%' },
          ],
        },
      },
      {
        mark: { type: 'text', fontSize: classNames.length > 15 ? 9 : 12 },
        encoding: {
          text: { field: 'count', type: 'quantitative', format: ',d' },
          color: { condition: { test: 'datum.share > 0.35', value: 'white' }, value: '#222' },
        },
      },
    ],
    config: { view: { stroke: null }, axis: { grid: false, domain: false, ticks: false } },
  };
}

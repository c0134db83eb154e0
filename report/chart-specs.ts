/**
 * The two chart shapes of the run and sweep reports as Vega-Lite specs: lines against a step or epoch
 * (series in given colours, dashed reference levels, dots on short series) and grouped bars with their
 * value printed above. Both keep the legend above the plot. The line chart comes in two variants: the
 * interactive one adds an invisible layer of the points, so the pointer finds the nearest point and its
 * tooltip; the static one (SVG, PNG) leaves that layer out. Render with ./vega.ts renderVegaLite.
 *
 * ```ts
 * const { spec, staticSpec } = lineChartSpec({ title: 'Loss', xLabel: 'step', yLabel: 'loss', series: [{ label: 'loss', color: COLORS.simclr, points }] });
 * const chart = await renderVegaLite(spec, { staticSpec });
 * ```
 */
import { CHART_HEIGHT, CHART_WIDTH, type Layer, type TopLevelSpec } from './vega';

export interface Point {
  x: number;
  y: number;
}

export interface LineSeries {
  label: string;
  color: string;
  points: Point[];
  dashed?: boolean;
  /** Stroke width in px (default 2). */
  strokeWidth?: number;
  /** Draw a dot at each point (default: when the series has at most 40 points). */
  markers?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Force the y range to include these (e.g. 0 and 100 for accuracies in %). */
  yMin?: number;
  yMax?: number;
  /** Ticks on the x axis are integers (steps, epochs). */
  xInteger?: boolean;
  /** What a series is, for the tooltip (default 'series'). */
  seriesName?: string;
  width?: number;
  height?: number;
}

export interface BarSeries {
  label: string;
  color: string;
  /** One value per category; undefined leaves the bar out (no such measurement). */
  values: (number | undefined)[];
}

export interface BarChart {
  title: string;
  yLabel: string;
  /** Category labels under the groups; '\n' breaks a label into lines. */
  categories: string[];
  series: BarSeries[];
  yMax?: number;
  /** What a category and a series are, for the tooltip (default 'category', 'series'). */
  categoryName?: string;
  seriesName?: string;
  /** d3-format of the value printed above each bar and in its tooltip (default one decimal). */
  valueFormat?: string;
  width?: number;
  height?: number;
}

/** A top-level layered spec. */
type LayeredSpec = Extract<TopLevelSpec, { layer: unknown }>;

/** Numbers in the embedded data keep 5 significant digits: plenty for a chart, a third of the bytes. */
function compact(v: number): number {
  return Number(v.toPrecision(5));
}

/**
 * Tick labels in their shortest form: 0.0001, 0.3, 10, 80 (a format on the axis gets its precision
 * from the tick step, and '~g' then writes 10 as 1e+1).
 */
const SHORT_LABEL = "format(datum.value, '~g')";

/** Tick labels with thousands as 'k' (as TensorBoard): 0, 5k, 10k, 15k. */
const THOUSANDS_LABEL = `abs(datum.value) >= 1000 ? format(datum.value / 1000, '~g') + 'k' : ${SHORT_LABEL}`;

/** The x axis: integer ticks for steps and epochs, thousands as 'k' from 10 000 on. */
function xAxis(chart: LineChart, maxX: number) {
  return {
    title: chart.xLabel,
    ...(chart.xInteger ? { tickMinStep: 1 } : {}),
    labelExpr: maxX >= 10000 ? THOUSANDS_LABEL : SHORT_LABEL,
  };
}

/**
 * A line chart; series with no points are left out (also from the legend). Throws when no series has
 * a point or a point is not finite.
 */
export function lineChartSpec(chart: LineChart): { spec: TopLevelSpec; staticSpec: TopLevelSpec } {
  const series = chart.series.filter((s) => s.points.length > 0);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) throw new Error(`chart '${chart.title}' has no data points`);
  for (const p of all) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
      throw new Error(`chart '${chart.title}' has a non-finite point (${p.x}, ${p.y})`);
  }
  const ys = all.map((p) => p.y);
  const maxX = Math.max(...all.map((p) => p.x));
  const labels = series.map((s) => s.label);
  // One dataset for every layer; a row names its series by index (the labels would repeat per row).
  const rows = series.flatMap((s, i) =>
    [...s.points].sort((a, b) => a.x - b.x).map((p) => ({ s: i, x: compact(p.x), y: compact(p.y) })),
  );
  const seriesOf = (i: number) => ({ filter: `datum.s === ${i}` });
  const x = { field: 'x', type: 'quantitative' } as const;
  const y = { field: 'y', type: 'quantitative' } as const;
  // Colour and dash share the field and the domain, so the layers draw one legend with both.
  const color = {
    field: 'series',
    type: 'nominal',
    scale: { domain: labels, range: series.map((s) => s.color) },
    legend: { title: null, symbolType: 'stroke' },
  } as const;
  const strokeDash = {
    field: 'series',
    type: 'nominal',
    scale: { domain: labels, range: series.map((s) => (s.dashed ? [6, 4] : [1, 0])) },
    legend: { title: null },
  } as const;
  const layers: Layer[] = [];
  // A layer per series, in order: the later series draws on top (the smoothed loss over the raw one).
  series.forEach((s, i) => {
    layers.push({
      transform: [seriesOf(i)],
      mark: { type: 'line', strokeWidth: s.strokeWidth ?? 2, strokeCap: 'round', strokeJoin: 'round' },
      encoding: { x, y, color, strokeDash },
    });
    if (s.markers ?? s.points.length <= 40) {
      layers.push({
        transform: [seriesOf(i)],
        mark: { type: 'point', filled: true, size: 45, opacity: 1 },
        encoding: { x, y, color },
      });
    }
  });
  const base: Omit<LayeredSpec, 'layer'> = {
    title: chart.title,
    width: chart.width ?? CHART_WIDTH,
    height: chart.height ?? CHART_HEIGHT,
    data: { values: rows },
    transform: [{ calculate: `${JSON.stringify(labels)}[datum.s]`, as: 'series' }],
    encoding: {
      x: { ...x, axis: xAxis(chart, maxX), scale: { nice: true, zero: false } },
      y: {
        ...y,
        axis: { title: chart.yLabel, labelExpr: SHORT_LABEL },
        scale: {
          zero: false,
          nice: true,
          ...(chart.yMin !== undefined ? { domainMin: Math.min(chart.yMin, ...ys) } : {}),
          ...(chart.yMax !== undefined ? { domainMax: Math.max(chart.yMax, ...ys) } : {}),
        },
      },
    },
  };
  // The pointer's nearest point, highlighted, with the series, x and y in a tooltip.
  const hover: Layer = {
    params: [
      { name: 'hover', select: { type: 'point', nearest: true, on: 'pointerover', clear: 'pointerout' } },
    ],
    mark: { type: 'point', filled: true, size: 80, stroke: 'white', strokeWidth: 1.5 },
    encoding: {
      x,
      y,
      color,
      opacity: { condition: { param: 'hover', empty: false, value: 1 }, value: 0 },
      tooltip: [
        { field: 'series', type: 'nominal', title: chart.seriesName ?? 'series' },
        { field: 'x', type: 'quantitative', title: chart.xLabel, format: chart.xInteger ? ',.0f' : '.4~g' },
        { field: 'y', type: 'quantitative', title: chart.yLabel, format: '.4~g' },
      ],
    },
  };
  return {
    spec: { ...base, layer: [...layers, hover] },
    staticSpec: { ...base, layer: layers },
  };
}

/**
 * Grouped bars from 0, the value printed above each bar; within a category the bars that have a value
 * sit side by side, centred (a missing measurement leaves no hole). Throws when there is no bar or a
 * series has not one value per category.
 */
export function barChartSpec(chart: BarChart): TopLevelSpec {
  const present = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  if (chart.categories.length === 0 || present.length === 0)
    throw new Error(`chart '${chart.title}' has no bars`);
  for (const s of chart.series) {
    if (s.values.length !== chart.categories.length) {
      throw new Error(
        `chart '${chart.title}': series '${s.label}' has ${s.values.length} values for ${chart.categories.length} categories`,
      );
    }
  }
  for (const v of present)
    if (!Number.isFinite(v)) throw new Error(`chart '${chart.title}' has a non-finite bar (${v})`);
  const perCategory = chart.categories.map((_, c) => chart.series.filter((s) => s.values[c] !== undefined));
  const most = Math.max(...perCategory.map((s) => s.length));
  // x is in category units: category c spans [c - 0.5, c + 0.5]; its bars fill at most 3/4 of it.
  const slot = Math.min(0.75 / most, 0.3);
  const rows = chart.categories.flatMap((category, c) =>
    perCategory[c].map((s, i) => {
      const centre = c + (i - (perCategory[c].length - 1) / 2) * slot;
      const value = compact(s.values[c]!);
      return {
        category: category.replace(/\n/g, ' '),
        series: s.label,
        value,
        // What a screen reader says of the bar (Vega's default lists the position fields).
        about: `${s.label}, ${category.replace(/\n/g, ' ')}: ${value}`,
        centre: compact(centre),
        x0: compact(centre - slot * 0.46),
        x1: compact(centre + slot * 0.46),
      };
    }),
  );
  const labels = chart.series.filter((s) => s.values.some((v) => v !== undefined));
  const format = chart.valueFormat ?? '.1f';
  const categoryLabels = JSON.stringify(chart.categories.map((c) => c.split('\n')));
  const x = {
    type: 'quantitative' as const,
    scale: { domain: [-0.5, chart.categories.length - 0.5], nice: false, zero: false },
    axis: {
      title: null,
      values: chart.categories.map((_, c) => c),
      labelExpr: `${categoryLabels}[datum.value]`,
      labelFontSize: 12.5,
      labelColor: '#222',
      labelPadding: 6,
      grid: false,
      ticks: false,
    },
  };
  return {
    title: chart.title,
    width: chart.width ?? CHART_WIDTH,
    height: chart.height ?? CHART_HEIGHT,
    data: { values: rows },
    encoding: {
      y: {
        field: 'value',
        type: 'quantitative',
        title: chart.yLabel,
        scale: { domain: [0, Math.max(chart.yMax ?? 0, ...present)], nice: true },
      },
    },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          x: { ...x, field: 'x0' },
          x2: { field: 'x1' },
          y2: { datum: 0 },
          color: {
            field: 'series',
            type: 'nominal',
            scale: { domain: labels.map((s) => s.label), range: labels.map((s) => s.color) },
            legend: { title: null, symbolType: 'square' },
          },
          tooltip: [
            { field: 'category', type: 'nominal', title: chart.categoryName ?? 'category' },
            { field: 'series', type: 'nominal', title: chart.seriesName ?? 'series' },
            { field: 'value', type: 'quantitative', title: chart.yLabel, format },
          ],
          description: { field: 'about' },
        },
      },
      {
        mark: { type: 'text', baseline: 'bottom', dy: -4, fontSize: 12, color: '#222', aria: false },
        encoding: {
          x: { ...x, field: 'centre' },
          text: { field: 'value', type: 'quantitative', format },
        },
      },
    ],
  };
}

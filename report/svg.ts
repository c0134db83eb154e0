/**
 * Line and bar charts as SVG strings, built by hand (no plotting library): axes with "nice" ticks
 * (1, 2 or 5 × 10^k), grid, title, axis labels and a legend above the plot so it never hides data.
 * Text uses the generic `sans-serif` family, which fontconfig resolves for sharp/librsvg (DejaVu Sans
 * on Debian) and every browser resolves on its own.
 *
 * ```ts
 * const svg = lineChartSvg({ title: 'Loss', xLabel: 'step', yLabel: 'loss', series: [{ label: 'loss', color: '#1f77b4', points }] });
 * ```
 */

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
  opacity?: number;
  /** Draw a dot at each point (default: when the series has at most 40 points). */
  markers?: boolean;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
  /** Force the y range to include these (e.g. 0 and 100 for accuracies in %). */
  yMin?: number;
  yMax?: number;
  /** Ticks on the x axis are integers (steps, epochs). */
  xInteger?: boolean;
}

export interface BarSeries {
  label: string;
  color: string;
  /** One value per category; undefined leaves a gap (no such measurement). */
  values: (number | undefined)[];
}

export interface BarChartSpec {
  title: string;
  yLabel: string;
  /** Category labels under the groups; '\n' breaks a label into lines. */
  categories: string[];
  series: BarSeries[];
  width?: number;
  height?: number;
  yMax?: number;
  /** Label printed above each bar (default: one decimal). */
  valueFormat?: (v: number) => string;
}

export const CHART_WIDTH = 880;
export const CHART_HEIGHT = 440;
const FONT = 'sans-serif';
const AXIS_COLOR = '#444';
const GRID_COLOR = '#e3e3e3';
const MARGIN = { top: 74, right: 28, bottom: 62, left: 84 };
/** Rough advance width of one character of the 12 px sans-serif text, for the legend layout. */
const CHAR_WIDTH_12PX = 7.2;

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** The "nice" tick spacing for a range: 1, 2 or 5 × 10^k, giving about `target` intervals. */
export function niceStep(range: number, target = 5): number {
  const raw = range / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return nice * magnitude;
}

interface Axis {
  lo: number;
  hi: number;
  step: number;
  ticks: number[];
}

/** An axis covering [min, max], widened to whole ticks. */
export function niceAxis(min: number, max: number, integer = false, target = 5): Axis {
  if (!Number.isFinite(min) || !Number.isFinite(max))
    throw new Error(`axis range [${min}, ${max}] is not finite`);
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  let step = niceStep(max - min, target);
  if (integer) step = Math.max(1, Math.round(step));
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(Number((lo + i * step).toPrecision(12)));
  return { lo, hi, step, ticks };
}

function decimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Tick label: thousands as 'k', tiny values in exponent notation, otherwise as many decimals as the step needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  if (step >= 1000) return `${Number((v / 1000).toFixed(decimals(step / 1000)))}k`;
  if (step < 1e-3) return Number(v.toPrecision(3)).toExponential();
  return v.toFixed(decimals(step));
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${r(x)}" y="${r(y)}" ${attrs}>${escapeXml(content)}</text>`;
}

function r(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(MARGIN.left, 30, title, `font-size="18" font-weight="bold" fill="#222"`),
    ...body,
    '</svg>',
  ].join('\n');
}

/** Legend row above the plot area, right-aligned: a line or box sample and the label per series. */
function legend(
  items: { label: string; color: string; dashed?: boolean; box?: boolean }[],
  right: number,
): string[] {
  const widths = items.map((it) => 30 + it.label.length * CHAR_WIDTH_12PX + 18);
  let x = right - widths.reduce((a, b) => a + b, 0);
  const y = 54;
  const out: string[] = [];
  items.forEach((it, i) => {
    if (it.box) {
      out.push(`<rect x="${r(x)}" y="${y - 9}" width="22" height="12" fill="${it.color}"/>`);
    } else {
      const dash = it.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(
        `<line x1="${r(x)}" y1="${y - 3}" x2="${r(x + 22)}" y2="${y - 3}" stroke="${it.color}" stroke-width="3"${dash}/>`,
      );
    }
    out.push(text(x + 30, y + 1, it.label, `font-size="12" fill="#333"`));
    x += widths[i];
  });
  return out;
}

function yAxis(
  axis: Axis,
  plot: { x: number; y: number; w: number; h: number },
  label: string,
  toY: (v: number) => number,
): string[] {
  const out: string[] = [];
  for (const t of axis.ticks) {
    const y = toY(t);
    out.push(
      `<line x1="${plot.x}" y1="${r(y)}" x2="${plot.x + plot.w}" y2="${r(y)}" stroke="${GRID_COLOR}" stroke-width="1"/>`,
    );
    out.push(`<line x1="${plot.x - 5}" y1="${r(y)}" x2="${plot.x}" y2="${r(y)}" stroke="${AXIS_COLOR}"/>`);
    out.push(
      text(plot.x - 9, y + 4, formatTick(t, axis.step), `font-size="12" fill="#333" text-anchor="end"`),
    );
  }
  out.push(
    `<line x1="${plot.x}" y1="${plot.y}" x2="${plot.x}" y2="${plot.y + plot.h}" stroke="${AXIS_COLOR}" stroke-width="1.2"/>`,
  );
  const cy = plot.y + plot.h / 2;
  out.push(
    text(
      20,
      cy,
      label,
      `font-size="13" fill="#222" text-anchor="middle" transform="rotate(-90 20 ${r(cy)})"`,
    ),
  );
  return out;
}

/** A line chart; series with no points are left out of the legend. Throws when no series has a point. */
export function lineChartSvg(spec: LineChartSpec): string {
  const width = spec.width ?? CHART_WIDTH;
  const height = spec.height ?? CHART_HEIGHT;
  const series = spec.series.filter((s) => s.points.length > 0);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) throw new Error(`chart '${spec.title}' has no data points`);
  for (const p of all) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
      throw new Error(`chart '${spec.title}' has a non-finite point (${p.x}, ${p.y})`);
  }
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const xAxis = niceAxis(Math.min(...xs), Math.max(...xs), spec.xInteger, 8);
  const yAxisRange = niceAxis(
    Math.min(...ys, spec.yMin ?? Infinity),
    Math.max(...ys, spec.yMax ?? -Infinity),
    false,
    5,
  );
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: width - MARGIN.left - MARGIN.right,
    h: height - MARGIN.top - MARGIN.bottom,
  };
  const toX = (v: number) => plot.x + ((v - xAxis.lo) / (xAxis.hi - xAxis.lo)) * plot.w;
  const toY = (v: number) =>
    plot.y + plot.h - ((v - yAxisRange.lo) / (yAxisRange.hi - yAxisRange.lo)) * plot.h;

  const body: string[] = [];
  body.push(
    ...legend(
      series.map((s) => ({ label: s.label, color: s.color, dashed: s.dashed })),
      plot.x + plot.w,
    ),
  );
  body.push(...yAxis(yAxisRange, plot, spec.yLabel, toY));
  for (const t of xAxis.ticks) {
    const x = toX(t);
    body.push(
      `<line x1="${r(x)}" y1="${plot.y}" x2="${r(x)}" y2="${plot.y + plot.h}" stroke="${GRID_COLOR}" stroke-width="1"/>`,
    );
    body.push(
      `<line x1="${r(x)}" y1="${plot.y + plot.h}" x2="${r(x)}" y2="${plot.y + plot.h + 5}" stroke="${AXIS_COLOR}"/>`,
    );
    body.push(
      text(
        x,
        plot.y + plot.h + 20,
        formatTick(t, xAxis.step),
        `font-size="12" fill="#333" text-anchor="middle"`,
      ),
    );
  }
  body.push(
    `<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${plot.y + plot.h}" stroke="${AXIS_COLOR}" stroke-width="1.2"/>`,
  );
  body.push(
    text(plot.x + plot.w / 2, height - 14, spec.xLabel, `font-size="13" fill="#222" text-anchor="middle"`),
  );
  body.push(
    `<clipPath id="plot"><rect x="${plot.x}" y="${plot.y - 4}" width="${plot.w + 4}" height="${plot.h + 8}"/></clipPath>`,
  );
  body.push(`<g clip-path="url(#plot)">`);
  for (const s of series) {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const opacity = s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : '';
    const coords = pts.map((p) => `${r(toX(p.x))},${r(toY(p.y))}`).join(' ');
    body.push(
      `<polyline points="${coords}" fill="none" stroke="${s.color}" stroke-width="${s.strokeWidth ?? 2}" stroke-linejoin="round" stroke-linecap="round"${dash}${opacity}/>`,
    );
    if (s.markers ?? pts.length <= 40) {
      for (const p of pts)
        body.push(`<circle cx="${r(toX(p.x))}" cy="${r(toY(p.y))}" r="3.5" fill="${s.color}"/>`);
    }
  }
  body.push('</g>');
  return frame(width, height, spec.title, body);
}

/** A grouped bar chart starting at 0, with each bar's value printed above it. */
export function barChartSvg(spec: BarChartSpec): string {
  const width = spec.width ?? CHART_WIDTH;
  const height = spec.height ?? CHART_HEIGHT;
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  if (spec.categories.length === 0 || values.length === 0)
    throw new Error(`chart '${spec.title}' has no bars`);
  for (const s of spec.series) {
    if (s.values.length !== spec.categories.length) {
      throw new Error(
        `chart '${spec.title}': series '${s.label}' has ${s.values.length} values for ${spec.categories.length} categories`,
      );
    }
  }
  const format = spec.valueFormat ?? ((v: number) => v.toFixed(1));
  const axis = niceAxis(0, Math.max(...values, spec.yMax ?? 0, 1e-9), false, 5);
  const plot = {
    x: MARGIN.left,
    y: MARGIN.top,
    w: width - MARGIN.left - MARGIN.right,
    h: height - MARGIN.top - MARGIN.bottom - 14,
  };
  const toY = (v: number) => plot.y + plot.h - ((v - axis.lo) / (axis.hi - axis.lo)) * plot.h;

  const body: string[] = [];
  body.push(
    ...legend(
      spec.series.map((s) => ({ label: s.label, color: s.color, box: true })),
      plot.x + plot.w,
    ),
  );
  body.push(...yAxis(axis, plot, spec.yLabel, toY));
  const groupW = plot.w / spec.categories.length;
  const barW = Math.min(70, (groupW * 0.72) / spec.series.length);
  spec.categories.forEach((category, g) => {
    const cx = plot.x + groupW * (g + 0.5);
    const present = spec.series.filter((s) => s.values[g] !== undefined);
    present.forEach((s, i) => {
      const v = s.values[g]!;
      const x = cx - (present.length * barW) / 2 + i * barW;
      const y = toY(v);
      body.push(
        `<rect x="${r(x + 2)}" y="${r(y)}" width="${r(barW - 4)}" height="${r(plot.y + plot.h - y)}" fill="${s.color}"/>`,
      );
      body.push(text(x + barW / 2, y - 6, format(v), `font-size="12" fill="#222" text-anchor="middle"`));
    });
    category.split('\n').forEach((line, l) => {
      body.push(
        text(cx, plot.y + plot.h + 20 + l * 16, line, `font-size="12.5" fill="#222" text-anchor="middle"`),
      );
    });
  });
  body.push(
    `<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${plot.y + plot.h}" stroke="${AXIS_COLOR}" stroke-width="1.2"/>`,
  );
  return frame(width, height, spec.title, body);
}

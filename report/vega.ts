/**
 * Vega-Lite charts rendered headless in Node: a spec is compiled to Vega (vega-lite), run in a Vega
 * View without a renderer and serialised to SVG. The SVG goes inline into report.html (readable
 * without scripts), to PNG through sharp (./charts.ts svgToPng), and the compiled Vega spec goes
 * beside it so the page can redraw the chart interactively (./vega-html.ts).
 *
 * vega and vega-lite are ES modules only; under this project's CommonJS build they load through a
 * dynamic import (a static import would compile to require() and fail).
 *
 * ```ts
 * const { svg, spec } = await renderVegaLite({
 *   title: 'Pretraining loss',
 *   data: { values: points },
 *   mark: 'line',
 *   encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' } },
 * });
 * ```
 */
import type { Spec as VegaSpec } from 'vega';
import type { Field } from 'vega-lite/build/channeldef';
import type { Config, TopLevelSpec } from 'vega-lite/build/index';
import type { LayerSpec } from 'vega-lite/build/spec/layer';
import { vegaTextWidth } from './text-width';

export type { TopLevelSpec, VegaSpec };
/** One layer of a layered Vega-Lite chart. */
export type Layer = LayerSpec<Field>['layer'][number];

/** Size of a report chart in CSS px, title and axes included (the spec's autosize fits the plot in). */
export const CHART_WIDTH = 880;
export const CHART_HEIGHT = 440;

/** Colours of the report (matplotlib's tab10, which readers know from papers and TensorBoard). */
export const COLORS = {
  simclr: '#1f77b4',
  simclrLight: '#9ec5e8',
  baseline: '#8c8c8c',
  pixels: '#d62728',
  scratch: '#9467bd',
  lr: '#e67e22',
  knn: '#2ca02c',
};

/** Distinct colours for overlaid variants or classes (tab10). */
export const CATEGORY_COLORS = [
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

/**
 * The report's look, merged under every spec's own config: white background (the PNGs are not
 * transparent), the generic sans-serif family (fontconfig resolves it for sharp/librsvg, DejaVu Sans on
 * Debian, and every browser on its own), legends above the plot so they never hide data.
 */
export const CHART_CONFIG: Config = {
  background: 'white',
  font: 'sans-serif',
  padding: { left: 10, right: 16, top: 10, bottom: 8 },
  autosize: { type: 'fit', contains: 'padding' },
  title: {
    fontSize: 17,
    anchor: 'start',
    color: '#222',
    offset: 10,
    subtitleFontSize: 12.5,
    subtitleColor: '#555',
  },
  axis: {
    labelFontSize: 12,
    labelColor: '#333',
    titleFontSize: 13,
    titleFontWeight: 'normal',
    titleColor: '#222',
    gridColor: '#e3e3e3',
    domainColor: '#444',
    tickColor: '#444',
    labelLimit: 220,
  },
  legend: {
    orient: 'top',
    direction: 'horizontal',
    labelFontSize: 12.5,
    labelColor: '#333',
    labelLimit: 320,
    titleFontSize: 12.5,
    symbolStrokeWidth: 3,
    symbolSize: 220,
    columnPadding: 18,
  },
  view: { stroke: '#ccc' },
};

export interface RenderedVegaLite {
  /** The static chart, a standalone SVG document of width × height px. */
  svg: string;
  /** The compiled Vega spec (data inlined), which vega-embed draws interactively in the page. */
  spec: VegaSpec;
  width: number;
  height: number;
}

export interface RenderOptions {
  /**
   * A variant of the spec for the static SVG: the same chart without the layers that only matter
   * under a pointer (hover rules, invisible tooltip targets), which would add thousands of invisible
   * elements to the SVG and PNG. Defaults to the spec itself.
   */
  staticSpec?: TopLevelSpec;
}

type VegaModule = typeof import('vega');
type VegaLiteModule = typeof import('vega-lite/build/index');
let modules: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | undefined;

/** vega and vega-lite, imported once per process (ES modules: a dynamic import, see the top). */
function loadVega(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  // vega-lite declares its types only under package.json "exports", which this project's
  // moduleResolution ("node") does not read: the module is typed through its build/index.d.ts.
  modules ??= Promise.all([import('vega'), import('vega-lite' as string) as Promise<VegaLiteModule>]).then(
    ([vega, vl]) => {
      // No canvas in Node: lay text out with the widths of the font the SVG is drawn with.
      (vega as unknown as { textMetrics: { width: typeof vegaTextWidth } }).textMetrics.width = vegaTextWidth;
      return { vega, vl };
    },
  );
  return modules;
}

/** The spec with the report's config under its own (the spec's settings win). */
export function withChartConfig(spec: TopLevelSpec): TopLevelSpec {
  const own = (spec.config ?? {}) as Config;
  const merged: Config = { ...CHART_CONFIG, ...own };
  for (const key of ['title', 'axis', 'legend', 'view'] as const) {
    merged[key] = { ...(CHART_CONFIG[key] as object), ...(own[key] as object) } as never;
  }
  return { ...spec, config: merged } as TopLevelSpec;
}

/** Compiles a Vega-Lite spec (with the report's config) to a Vega spec; throws on an invalid spec. */
export async function compileVegaLite(spec: TopLevelSpec): Promise<VegaSpec> {
  const { vl } = await loadVega();
  // Through JSON: the spec is what the page embeds, without the compiler's undefined properties.
  return JSON.parse(JSON.stringify(vl.compile(withChartConfig(spec)).spec)) as VegaSpec;
}

/**
 * Makes the SVG's ids (clip paths, gradients) unique to this chart, so several charts inline in one
 * page never point at each other's clip paths (Vega numbers them per process, from 1 after a reset).
 */
function scopeIds(svg: string, scope: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${scope}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${scope}-${id})`);
}

let renders = 0;

/** Draws a compiled Vega spec to SVG without a browser (a headless View). */
export async function renderVegaSvg(spec: VegaSpec): Promise<{ svg: string; width: number; height: number }> {
  const { vega } = await loadVega();
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logLevel: vega.Warn });
  try {
    await view.runAsync();
    const svg = scopeIds(await view.toSVG(), `vg${++renders}`);
    const size = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
    return { svg, width: Number(size?.[1] ?? view.width()), height: Number(size?.[2] ?? view.height()) };
  } finally {
    view.finalize();
  }
}

/**
 * Renders a Vega-Lite spec to a static SVG and the compiled Vega spec for the interactive view.
 * Rejects, naming the chart's title, when the spec does not compile.
 */
export async function renderVegaLite(
  spec: TopLevelSpec,
  options: RenderOptions = {},
): Promise<RenderedVegaLite> {
  const name = typeof spec.title === 'string' ? spec.title : JSON.stringify(spec.title ?? '(untitled)');
  let compiled: VegaSpec;
  let staticCompiled: VegaSpec;
  try {
    compiled = await compileVegaLite(spec);
    staticCompiled = options.staticSpec ? await compileVegaLite(options.staticSpec) : compiled;
  } catch (err) {
    throw new Error(`chart ${name}: invalid Vega-Lite spec: ${(err as Error).message}`);
  }
  // A copy: parsing a spec into a View adds to it, and the spec returned must stay as compiled.
  const { svg, width, height } = await renderVegaSvg(structuredClone(staticCompiled));
  return { svg, spec: compiled, width, height };
}

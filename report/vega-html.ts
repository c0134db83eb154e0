/**
 * Charts in the self-contained report pages. Each chart is a <figure> holding its static SVG (the page
 * reads without scripts, prints, and opens in any mail client) and its compiled Vega spec as JSON. One
 * inline copy of the Vega and vega-embed browser builds, taken from node_modules, redraws every
 * figure as an interactive view (tooltips, export to SVG/PNG, the spec's source) and drops the static
 * SVG once the view has rendered. Nothing is fetched: the page works offline from a file.
 *
 * vega-lite is not shipped to the browser: the specs are compiled in Node (./vega.ts), which saves
 * its ~260 KB build; vega-embed then runs in 'vega' mode. The runtime is ~580 KB, once per page.
 *
 * ```ts
 * const chart = await renderVegaLite(spec);
 * const figure = { name: 'loss', title: 'Pretraining loss', ...chart };
 * const body = `<style>${CHART_CSS}</style>${chartFigure(figure)}`;
 * const html = `${body}${chartScripts(body)}`;
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { escapeHtml } from './escape';
import type { VegaSpec } from './vega';

/** A rendered chart as the pages show it. */
export interface FigureChart {
  /** File-name-safe id: charts/<name>.png, the figure's id, the download's file name. */
  name: string;
  title: string;
  svg: string;
  /** The compiled Vega spec for the interactive view; without it the figure stays static. */
  spec?: VegaSpec;
}

export interface FigureOptions {
  /** A note under the chart (HTML, already escaped by the caller). */
  captionHtml?: string;
  /**
   * Leave the static SVG out (the view is drawn by the script only). For charts with many marks
   * (thousands of points), where the SVG would weigh more than the data; the figure then shows the
   * title as text until the script has drawn it.
   */
  staticSvg?: boolean;
  /** 'canvas' draws thousands of marks faster than 'svg' (default). */
  renderer?: 'svg' | 'canvas';
}

/** JSON that can sit inside a <script> element: no '<' can close it or open a comment. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** One chart as a <figure>: static SVG, the Vega spec as JSON, and the caption. */
export function chartFigure(chart: FigureChart, options: FigureOptions = {}): string {
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(chart.name))
    throw new Error(`chart name '${chart.name}' must be letters, digits and '-'`);
  const staticSvg = options.staticSvg ?? true;
  const view = staticSvg
    ? chart.svg.replace(/^<svg\b/, `<svg role="img" aria-label="${escapeHtml(chart.title)}"`)
    : `<p class="note">${escapeHtml(chart.title)} (drawn by the page's script)</p>`;
  const spec = chart.spec ? `\n${SPEC_SCRIPT}${scriptJson(chart.spec)}</script>` : '';
  const renderer = options.renderer ? ` data-renderer="${options.renderer}"` : '';
  const caption = options.captionHtml ? `\n<figcaption class="note">${options.captionHtml}</figcaption>` : '';
  return `<figure class="chart" id="chart-${chart.name}" data-name="${chart.name}"${renderer}>
<div class="chart-view">${view}</div>${spec}${caption}
</figure>`;
}

/** CSS for the figures and vega-embed's menu, to add to the page's stylesheet. */
export const CHART_CSS = `
  figure.chart { margin: 18px 0 26px; }
  figure.chart .chart-view svg { max-width: 100%; height: auto; border: 1px solid var(--line, #dde2e7); border-radius: 6px; }
  figure.chart .vega-embed { display: block; width: fit-content; max-width: 100%; }
  figure.chart .chart-wrapper > svg, figure.chart .chart-wrapper > canvas { border: 1px solid var(--line, #dde2e7); border-radius: 6px; max-width: 100%; height: auto; }
  figure.chart .vega-embed details { border: 0; padding: 0; margin: 0; } /* not the page's <details> box */
  figure.chart figcaption { margin-top: 4px; }
`;

/** Redraws each figure interactively, keeping the static SVG where anything fails. */
const BOOT = `
(function () {
  if (typeof vegaEmbed !== 'function') return;
  document.querySelectorAll('figure.chart').forEach(function (figure) {
    var source = figure.querySelector('script.chart-spec');
    var view = figure.querySelector('.chart-view');
    if (!source || !view) return;
    var spec;
    try { spec = JSON.parse(source.textContent); } catch (err) { return; }
    var target = document.createElement('div');
    target.className = 'chart-live';
    target.hidden = true;
    view.after(target);
    vegaEmbed(target, spec, {
      mode: 'vega',
      renderer: figure.dataset.renderer || 'svg',
      actions: { export: true, source: true, compiled: false, editor: false },
      downloadFileName: figure.dataset.name,
    }).then(function () {
      target.hidden = false;
      view.remove();
    }).catch(function (err) {
      target.remove();
      console.warn('chart ' + figure.dataset.name + ' stays static:', err);
    });
  });
})();
`;

let runtime: string | undefined;

/** A browser build from an installed package: <package folder>/build/<file>. */
function browserBuild(pkg: string, file: string): string {
  // The packages' "exports" point at their ES module in build/; the browser builds sit beside it.
  const entry = require.resolve(pkg);
  const path = join(dirname(entry), file);
  const code = readFileSync(path, 'utf8');
  // Inline scripts end at the first '</script'; the builds have none today, keep it so.
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

/** The <script> elements that make the figures interactive: Vega, vega-embed and the boot code. */
export function chartRuntime(): string {
  runtime ??= [
    `<script>/* vega ${packageVersion('vega')}, BSD-3-Clause, https://vega.github.io */\n${browserBuild('vega', 'vega.min.js')}</script>`,
    `<script>/* vega-embed ${packageVersion('vega-embed')}, BSD-3-Clause */\n${browserBuild('vega-embed', 'vega-embed.min.js')}</script>`,
    `<script>${BOOT}</script>`,
  ].join('\n');
  return runtime;
}

/** Marks a figure whose chart the runtime draws (see chartFigure). */
const SPEC_SCRIPT = '<script type="application/json" class="chart-spec">';

/**
 * The runtime for a page body (once, at its end) when a figure in it has a spec to draw, else
 * nothing: a section added to a page with chartFigure gets its charts drawn without more wiring.
 */
export function chartScripts(body: string): string {
  return body.includes(SPEC_SCRIPT) ? chartRuntime() : '';
}

function packageVersion(pkg: string): string {
  const entry = require.resolve(pkg);
  // <package>/build/<entry>.js → <package>/package.json
  const json = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return json.version;
}

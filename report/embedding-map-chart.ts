/**
 * The embedding maps as one Vega-Lite chart: a panel per encoder (the trained SimCLR encoder, then the
 * random-init one) side by side, each point a test image at its 2-D UMAP position (./embedding-map.ts),
 * coloured by its class with a legend of the class names, and a tooltip with the class and the image's
 * index in the test split. UMAP's axes have no units, so the panels have none. Render it with
 * ./vega.ts renderVegaLite.
 *
 * ```ts
 * const spec = embeddingMapSpec({ panels: [{ title: 'SimCLR encoder', xy, indices, labels }], classNames });
 * ```
 */
import { CATEGORY_COLORS, CHART_WIDTH, type TopLevelSpec } from './vega';

export interface MapPanel {
  title: string;
  /** Row-major [n, 2] coordinates. */
  xy: Float32Array;
  /** The images' indices in the test split, and their labels. */
  indices: ArrayLike<number>;
  labels: ArrayLike<number>;
}

export interface EmbeddingMapChart {
  panels: MapPanel[];
  classNames: readonly string[];
  title?: string;
  subtitle?: string;
}

/** Coordinates to 3 decimals: far below a pixel of the plot, and a third of the page's weight. */
const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * The spec of the side-by-side maps (see the module comment). `interactive: false` draws the same
 * picture without tooltips and ARIA labels, for the static rendering: a label per point would make
 * thousands of them.
 */
export function embeddingMapSpec(chart: EmbeddingMapChart, { interactive = true } = {}): TopLevelSpec {
  const { panels, classNames } = chart;
  if (panels.length === 0) throw new Error('embedding map: no panels');
  // Each point names its panel by number (the titles would repeat thousands of times in the page).
  const values = panels.flatMap((p, k) => {
    const n = p.indices.length;
    if (p.xy.length !== 2 * n || p.labels.length !== n)
      throw new Error(
        `embedding map '${p.title}': ${p.xy.length / 2} points, ${n} indices, ${p.labels.length} labels`,
      );
    return Array.from({ length: n }, (_, i) => ({
      panel: k,
      x: round(p.xy[2 * i]),
      y: round(p.xy[2 * i + 1]),
      class: classNames[p.labels[i]] ?? String(p.labels[i]),
      index: p.indices[i],
    }));
  });
  const side = Math.floor((CHART_WIDTH - 60 - 30 * (panels.length - 1)) / panels.length);
  const domain = classNames.map((c, i) => (classNames.indexOf(c) === i ? c : `${c} (${i})`));
  const points = values.length / panels.length;
  return {
    title: {
      text: chart.title ?? 'Test-set embeddings, UMAP',
      subtitle:
        chart.subtitle ??
        `${points.toLocaleString('en-US')} test images per map, coloured by class; in the live page, hover a point for its class and test index`,
    },
    data: { values },
    facet: {
      column: {
        field: 'panel',
        type: 'ordinal',
        title: null,
        header: {
          labelExpr: `${JSON.stringify(panels.map((p) => p.title))}[datum.value]`,
          labelFontSize: 14,
          labelFontWeight: 'bold',
          labelColor: '#222',
        },
      },
    },
    spec: {
      width: side,
      height: side,
      mark: { type: 'circle', size: panels.length > 1 ? 14 : 20, opacity: 0.75, aria: interactive },
      encoding: {
        x: { field: 'x', type: 'quantitative', axis: null, scale: { zero: false, nice: false } },
        y: { field: 'y', type: 'quantitative', axis: null, scale: { zero: false, nice: false } },
        color: {
          field: 'class',
          type: 'nominal',
          title: 'class',
          scale:
            domain.length <= CATEGORY_COLORS.length
              ? { domain, range: CATEGORY_COLORS.slice(0, domain.length) }
              : { domain, scheme: 'category20' },
          legend: {
            orient: 'bottom',
            direction: 'horizontal',
            columns: Math.min(5, domain.length),
            symbolSize: 120,
          },
        },
        ...(interactive
          ? {
              tooltip: [
                { field: 'class', title: 'class' },
                { field: 'index', type: 'quantitative', title: 'test image', format: 'd' },
              ],
            }
          : {}),
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    autosize: { type: 'pad' },
  } as TopLevelSpec;
}

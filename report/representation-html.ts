/**
 * The report's "Representation" section: what the encoder learned, shown rather than scored. The
 * test-set embedding maps of the trained and the random-init encoder side by side (./embedding-map-chart.ts),
 * the nearest training images of one query per class (./neighbour-grid.ts), and the confusion matrix
 * of the linear classifier on the trained encoder's features (./confusion-chart.ts). The data come
 * from the evaluation activities' samples (./representation-sample.ts) and the report activity's maps.
 *
 * ```ts
 * const { html, charts } = await renderRepresentationSection({ classNames, encoders: [{ encoder: 'pretrained', sample, map }], images });
 * ```
 */
import { confusionMatrixSpec } from './confusion-chart';
import { embeddingMapSpec } from './embedding-map-chart';
import { escapeHtml } from './escape';
import { NEIGHBOUR_GRID_CSS, neighbourAgreement, neighbourGridHtml, type GridImages } from './neighbour-grid';
import type { EncoderSample, SampledEncoder } from './representation-sample';
import { svgToPng } from './charts';
import { renderVegaLite } from './vega';
import { chartFigure } from './vega-html';

/** How the section names each encoder. */
export const ENCODER_TITLES: Record<SampledEncoder, string> = {
  pretrained: 'SimCLR encoder (trained)',
  'random-init': 'Random-init encoder (untrained)',
};

export interface RepresentationView {
  classNames: readonly string[];
  /** The trained encoder first; an encoder without a map (too few points) has no panel. */
  encoders: { encoder: SampledEncoder; sample: EncoderSample; map?: Float32Array }[];
  /** Data URIs of the query (test) and neighbour (training) images. */
  images: GridImages;
}

function agreementText(view: RepresentationView['encoders'][number]): string {
  const { same, total } = neighbourAgreement(view.sample.queries);
  return `${same} of ${total} neighbours share their query's class (${total ? ((100 * same) / total).toFixed(0) : 0} %)`;
}

/** An SVG document showing `png` at the chart's size: the static view of a chart too heavy as SVG. */
function pngInSvg(png: Buffer, size: { width: number; height: number }): string {
  const { width, height } = size;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><image width="${width}" height="${height}" href="data:image/png;base64,${png.toString('base64')}"/></svg>`;
}

export interface RepresentationSection {
  /** The section, from its <h2>, with its own <style> (the neighbour grid's). */
  html: string;
  /** The section's charts as PNG (charts/<name>.png beside the report). */
  charts: { name: string; png: Buffer }[];
}

/**
 * The section's HTML and its charts as PNG. The charts are interactive only on a page that carries
 * ./vega-html.ts chartRuntime().
 */
export async function renderRepresentationSection(view: RepresentationView): Promise<RepresentationSection> {
  const { classNames } = view;
  const parts: string[] = [
    `<h2>Representation</h2>
<p class="note">What the encoders make of the test images: a seeded, class-balanced sample of the test split
mapped to 2-D by UMAP (cosine geometry of the encoder's features; the same images and seed for every encoder,
so the same run draws the same maps). Classes that form their own islands without ever seeing a label are
what contrastive pretraining is for; the untrained encoder of the same architecture is the reference.</p>`,
  ];

  const charts: { name: string; png: Buffer }[] = [];
  const mapped = view.encoders.filter((e) => e.map);
  if (mapped.length) {
    const map = {
      classNames,
      panels: mapped.map((e) => ({
        title: ENCODER_TITLES[e.encoder],
        xy: e.map as Float32Array,
        indices: e.sample.indices,
        labels: e.sample.labels,
      })),
    };
    const chart = await renderVegaLite(embeddingMapSpec(map), {
      staticSpec: embeddingMapSpec(map, { interactive: false }),
    });
    // Thousands of points weigh megabytes as SVG paths: the page's static view is the picture as a PNG.
    const png = await svgToPng(chart.svg);
    charts.push({ name: 'embedding-maps', png });
    parts.push(
      chartFigure(
        { name: 'embedding-maps', title: 'Test-set embeddings, UMAP', ...chart, svg: pngInSvg(png, chart) },
        {
          renderer: 'canvas',
          captionHtml: `UMAP of ${mapped[0].sample.indices.length.toLocaleString('en-US')} of ${mapped[0].sample.numTest.toLocaleString('en-US')} test images (${mapped[0].sample.dim}-dimensional features). Distances between islands mean little in UMAP; which points share an island is what it shows.`,
        },
      ),
    );
  } else {
    parts.push('<p class="note">Too few test images for an embedding map.</p>');
  }

  const [first, ...others] = view.encoders;
  parts.push(`<h3>Nearest training images</h3>
<p class="note">One query test image per class (left, blue) and its ${first.sample.queries[0]?.neighbours.length ?? 0} most similar training
images by cosine similarity of the ${escapeHtml(ENCODER_TITLES[first.encoder])}'s features; the number is the similarity.
A neighbour of another class is outlined in red and marked ✗. ${agreementText(first)}.</p>
${neighbourGridHtml(first.sample.queries, classNames, view.images)}`);
  for (const other of others)
    parts.push(`<details><summary>The same queries with the ${escapeHtml(ENCODER_TITLES[other.encoder])}: ${agreementText(other)}</summary>
${neighbourGridHtml(other.sample.queries, classNames, view.images)}
</details>`);

  const confusion = await renderVegaLite(
    confusionMatrixSpec({
      matrix: first.sample.confusion,
      classNames: [...classNames],
      title: `Confusion matrix of the linear classifier, ${ENCODER_TITLES[first.encoder]}`,
    }),
  );
  charts.push({ name: 'confusion-matrix', png: await svgToPng(confusion.svg) });
  parts.push(`<h3>Confusion matrix</h3>
${chartFigure({ name: 'confusion-matrix', title: 'Confusion matrix of the linear classifier', ...confusion }, { captionHtml: 'Linear evaluation on the frozen features, every test image: rows are the true class, columns the predicted one.' })}`);
  return { html: `<style>${NEIGHBOUR_GRID_CSS}</style>\n${parts.join('\n')}`, charts };
}

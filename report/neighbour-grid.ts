/**
 * The neighbour grid of the report: one row per query test image (one per class), then its nearest
 * training images by cosine similarity of the encoder's features, most similar first, each with its
 * class and similarity; a neighbour of another class than the query is outlined in red and marked ✗.
 * The images are PNG data URIs (./thumbnails.ts), so the page stays self-contained.
 *
 * ```ts
 * const html = neighbourGridHtml(sample.queries, classNames, { test, train }); // maps index → data URI
 * ```
 */
import type { NeighbourQuery } from '../simclr/evaluate/representation-sample';
import { escapeHtml } from './escape';

/** Data URIs of the images the grid shows, by their index in their split. */
export interface GridImages {
  test: ReadonlyMap<number, string>;
  train: ReadonlyMap<number, string>;
}

export const NEIGHBOUR_GRID_CSS = `
  .nn-grid { display: grid; gap: 6px 6px; margin: 8px 0 6px; overflow-x: auto; }
  .nn-cell { margin: 0; text-align: center; font-size: 11px; line-height: 1.25; color: var(--muted, #5f6b76); min-width: 0; }
  .nn-cell img { width: 56px; height: 56px; image-rendering: pixelated; display: block; margin: 0 auto 2px; border: 2px solid #cfd6dc; border-radius: 3px; background: #000; }
  .nn-cell.query img { border-color: #1f77b4; }
  .nn-cell.query { color: var(--fg, #1d2125); font-weight: 600; border-right: 2px solid var(--line, #dde2e7); padding-right: 6px; }
  .nn-cell.miss img { border-color: #d62728; }
  .nn-cell.miss .nn-class { color: #a8200d; font-weight: 600; }
  .nn-cell .nn-class { display: block; max-width: 76px; margin: 0 auto; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
`;

/** Neighbours sharing their query's class, and all neighbours shown. */
export function neighbourAgreement(queries: readonly NeighbourQuery[]): { same: number; total: number } {
  let same = 0;
  let total = 0;
  for (const q of queries)
    for (const n of q.neighbours) {
      total++;
      if (n.label === q.label) same++;
    }
  return { same, total };
}

/** The grid (see the module comment); an image missing from `images` shows as an empty frame. */
export function neighbourGridHtml(
  queries: readonly NeighbourQuery[],
  classNames: readonly string[],
  images: GridImages,
): string {
  const k = Math.max(0, ...queries.map((q) => q.neighbours.length));
  const name = (label: number) => escapeHtml(classNames[label] ?? String(label));
  const img = (uri: string | undefined, alt: string) =>
    `<img src="${uri ? escapeHtml(uri) : ''}" alt="${alt}" width="56" height="56">`;
  const cells = queries.flatMap((q) => [
    `<figure class="nn-cell query" title="query: test image ${q.index}, ${name(q.label)}">${img(images.test.get(q.index), `test image ${q.index}`)}` +
      `<span class="nn-class">${name(q.label)}</span>test #${q.index}</figure>`,
    ...q.neighbours.map((n) => {
      const miss = n.label !== q.label;
      return (
        `<figure class="nn-cell${miss ? ' miss' : ''}" title="training image ${n.index}, ${name(n.label)}, cosine similarity ${n.similarity.toFixed(3)}">` +
        `${img(images.train.get(n.index), `training image ${n.index}`)}` +
        `<span class="nn-class">${miss ? '✗ ' : ''}${name(n.label)}</span>${n.similarity.toFixed(3)}</figure>`
      );
    }),
  ]);
  return `<div class="nn-grid" style="grid-template-columns: repeat(${k + 1}, minmax(64px, 1fr))">
${cells.join('\n')}
</div>`;
}

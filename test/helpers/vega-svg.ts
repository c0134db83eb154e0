/**
 * Reads what a Vega-rendered SVG (report/vega.ts) draws, the way the tests need it: the items of each
 * mark group (one <path> per bar or point, one per line) and the text of titles, axes and legends.
 * Vega writes every non-group mark as one <g class="mark-<type> role-<role> ..."> of leaf elements.
 *
 * ```ts
 * assert.equal(marks(svg, 'rect').flat().length, 5); // five bars
 * assert.deepEqual(texts(svg, 'axis-title'), ['step', 'NT-Xent loss']);
 * ```
 */

interface MarkGroup {
  type: string;
  role: string;
  /** The leaf elements, as written. */
  items: string[];
}

function groups(svg: string): MarkGroup[] {
  const out: MarkGroup[] = [];
  const open = /<g class="mark-(\w+) role-([\w-]+)[^"]*"[^>]*>/g;
  for (let m = open.exec(svg); m; m = open.exec(svg)) {
    if (m[1] === 'group') continue;
    const end = svg.indexOf('</g>', open.lastIndex);
    const body = svg.slice(open.lastIndex, end);
    const items = body.match(/<(path|text|line|rect|circle)\b[\s\S]*?(\/>|<\/\1>)/g) ?? [];
    out.push({ type: m[1], role: m[2], items });
  }
  return out;
}

/** The data marks of one type ('line', 'symbol', 'rect', 'text'), one array of items per layer. */
export function marks(svg: string, type: string): string[][] {
  return groups(svg)
    .filter((g) => g.type === type && g.role === 'mark')
    .map((g) => g.items);
}

/** The text of a role ('title-text', 'axis-title', 'axis-label', 'legend-label', 'mark'), lines joined by '\n'. */
export function texts(svg: string, role: string): string[] {
  return groups(svg)
    .filter((g) => g.type === 'text' && g.role === role)
    .flatMap((g) => g.items)
    .map((t) =>
      t
        .replace(/<\/tspan><tspan[^>]*>/g, '\n')
        .replace(/<[^>]+>/g, '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&'),
    );
}

/** The stroke-dasharray of each line mark item ('' for a solid line), in layer order. */
export function lineDashes(svg: string): string[] {
  return marks(svg, 'line')
    .flat()
    .map((p) => /stroke-dasharray="([^"]*)"/.exec(p)?.[1] ?? '');
}

/** The width and height attributes of the root <svg>. */
export function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
  if (!m) throw new Error('not an SVG with a width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}

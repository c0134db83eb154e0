/**
 * A contact sheet of a nearest-neighbour query (`simclr neighbors --out`): the query image and its
 * neighbours in a row, each captioned with its rank, row, name, class and cosine similarity. As a
 * self-contained HTML page (images as data URIs) or as one PNG composed with sharp.
 */
import sharp from 'sharp';
import { escapeHtml } from './html';

export interface SheetTile {
  /** The caption's lines: first the title (e.g. "query", "#1 · 0.998"), then details. */
  caption: string[];
  /** The thumbnail as PNG; undefined draws an empty tile with `missing` in it. */
  png?: Buffer;
  missing?: string;
}

/** Side of a thumbnail in the sheet, in pixels. */
export const TILE = 112;
const CAPTION_LINE = 14;
const GAP = 8;

/** The sheet as an HTML page: a title and a row of captioned tiles (wrapping on narrow screens). */
export function contactSheetHtml(title: string, tiles: SheetTile[]): string {
  const figures = tiles
    .map((t, i) => {
      const img = t.png
        ? `<img src="data:image/png;base64,${t.png.toString('base64')}" width="${TILE}" height="${TILE}" alt="${escapeHtml(t.caption[0])}">`
        : `<div class="missing">${escapeHtml(t.missing ?? 'no image')}</div>`;
      const caption = t.caption
        .map((l, j) => (j === 0 ? `<b>${escapeHtml(l)}</b>` : escapeHtml(l)))
        .join('<br>');
      return `<figure${i === 0 ? ' class="query"' : ''}>${img}<figcaption>${caption}</figcaption></figure>`;
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
.sheet{display:flex;flex-wrap:wrap;gap:${GAP}px}
figure{margin:0;width:${TILE}px}
figure img,.missing{width:${TILE}px;height:${TILE}px;image-rendering:pixelated;border:1px solid #ccc;display:block}
figure.query img{border:3px solid #d33;box-sizing:border-box}
.missing{font-size:11px;color:#888;overflow:hidden}
figcaption{font-size:11px;word-break:break-all;margin-top:4px}
</style></head><body>
<h3>${escapeHtml(title)}</h3>
<div class="sheet">
${figures}
</div>
</body></html>
`;
}

/** The sheet as one PNG: the tiles in a row on white, captions drawn as SVG text under each. */
export async function contactSheetPng(tiles: SheetTile[]): Promise<Buffer> {
  const lines = Math.max(...tiles.map((t) => t.caption.length));
  const cell = { w: TILE + GAP, h: TILE + GAP + lines * CAPTION_LINE + GAP };
  const width = GAP + tiles.length * cell.w;
  const height = cell.h + GAP;
  const text = tiles
    .flatMap((t, i) =>
      t.caption.map(
        (l, j) =>
          `<text x="${GAP + i * cell.w}" y="${GAP + TILE + GAP + (j + 1) * CAPTION_LINE - 3}" font-size="11" font-family="sans-serif"${j === 0 ? ' font-weight="bold"' : ''}>${escapeHtml(l.length > 18 ? `${l.slice(0, 17)}…` : l)}</text>`,
      ),
    )
    .join('');
  const frame = `<rect x="${GAP - 3}" y="${GAP - 3}" width="${TILE + 6}" height="${TILE + 6}" fill="#d33"/>`;
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${frame}${text}</svg>`,
  );
  const images = await Promise.all(
    tiles.map(async (t, i) => ({
      input: t.png
        ? await sharp(t.png).resize(TILE, TILE, { kernel: 'nearest' }).png().toBuffer()
        : await sharp({ create: { width: TILE, height: TILE, channels: 3, background: '#eeeeee' } })
            .png()
            .toBuffer(),
      left: GAP + i * cell.w,
      top: GAP,
    })),
  );
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite([{ input: svg, left: 0, top: 0 }, ...images])
    .png()
    .toBuffer();
}

/**
 * The sweep's self-contained report.html: what was swept, whether each of the paper's expected
 * directions holds, the comparison table and the charts (inline SVG, interactive through the inline
 * Vega runtime, ./vega-html.ts). No external requests; every user-provided string is HTML-escaped, as
 * in the run report (./html.ts).
 */
import { METRIC_LABELS } from '../config/sweep-expectation';
import { formatFraction } from './charts';
import { CSS, duration, escapeHtml as e, pct } from './html';
import type { SweepReport } from './sweep-report';
import { chartFigure, chartScripts, type FigureChart } from './vega-html';

/** A knob's value as it reads in the table: numbers to 4 significant digits, lists joined. */
export function knobValue(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') return String(Number(v.toPrecision(4)));
  if (Array.isArray(v)) return v.map(knobValue).join(', ');
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/**
 * The variants table has a column per knob besides the results, so the page is wider than the run
 * report's, and the table fits it: the variant's description wraps under its name (the name itself
 * stays on one line) and the cells are a little tighter.
 */
const SWEEP_CSS = `
  main { max-width: 1180px; }
  table.variants td:first-child .note { white-space: normal; }
  table.variants th, table.variants td { padding: 6px 8px; }`;

const VERDICT_CLASS = { matches: 'good', 'does not match': 'bad', incomplete: 'note' } as const;

function expectationsSection(report: SweepReport): string {
  if (report.expectations.length === 0) return '';
  const items = report.expectations.map((x) => {
    const diffs = x.comparisons
      .map(
        (c) =>
          `${e(c.better)} − ${e(c.worse)}: ${c.difference === undefined ? 'not measured' : `${c.difference >= 0 ? '+' : '−'}${Math.abs(c.difference * 100).toFixed(2)} pp`}`,
      )
      .join('; ');
    return `<tr><td>${e(METRIC_LABELS[x.metric])}: <code>${e(x.holds)}</code>${x.source ? `<br><span class="note">${e(x.source)}</span>` : ''}</td>
<td class="${VERDICT_CLASS[x.verdict]}">${e(x.verdict)}</td><td>${diffs}${x.verdict !== 'matches' && x.note ? `<br><span class="note">${e(x.note)}</span>` : ''}</td></tr>`;
  });
  return `
<h2>Expected directions</h2>
<table><thead><tr><th>expected direction</th><th>result</th><th>measured difference</th></tr></thead>
<tbody>${items.join('\n')}</tbody></table>`;
}

function tableSection(report: SweepReport): string {
  const fractions = [...new Set(report.rows.flatMap((r) => r.fineTune.map((f) => f.fraction)))].sort(
    (a, b) => a - b,
  );
  const head = [
    '<th>variant</th>',
    // A dotted path may break after each dot, so that the variants fit the page without scrolling.
    ...report.knobs.map((k) => `<th><code>${e(k).replace(/\./g, '.<wbr>')}</code></th>`),
    '<th class="n">linear top-1</th>',
    '<th class="n">kNN top-1</th>',
    ...fractions.map((f) => `<th class="n">fine-tune ${e(formatFraction(f))}</th>`),
    '<th class="n">final loss</th>',
    '<th class="n">wall time</th>',
  ].join('');
  const best = (pick: (r: SweepReport['rows'][number]) => number | undefined) =>
    Math.max(...report.rows.map((r) => pick(r) ?? -Infinity));
  const bestLinear = best((r) => r.linearTop1);
  const bestKnn = best((r) => r.knnTop1);
  const body = report.rows.map((r) => {
    const state =
      r.state === 'completed'
        ? ''
        : ` <span class="note">(${e(r.state === 'skipped' ? 'from an earlier run' : r.state)})</span>`;
    const cells = [
      `<td><strong>${e(r.variant)}</strong>${state}${r.description ? `<br><span class="note">${e(r.description)}</span>` : ''}${r.error ? `<div class="error">${e(r.error)}</div>` : ''}</td>`,
      ...report.knobs.map((k) => `<td>${e(knobValue(r.knobs[k]))}</td>`),
      `<td class="n${r.linearTop1 === bestLinear ? ' good' : ''}">${pct(r.linearTop1)}</td>`,
      `<td class="n${r.knnTop1 === bestKnn ? ' good' : ''}">${pct(r.knnTop1)}</td>`,
      ...fractions.map((f) => `<td class="n">${pct(r.fineTune.find((x) => x.fraction === f)?.top1)}</td>`),
      `<td class="n">${r.finalLoss === undefined ? '—' : r.finalLoss.toFixed(4)}</td>`,
      `<td class="n">${duration(r.wallSeconds)}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return `
<h2>Variants</h2>
<div class="wide"><table class="results variants"><thead><tr>${head}</tr></thead>
<tbody>${body.join('\n')}</tbody></table></div>
<p class="note">Best linear and kNN top-1 in green. Each variant is an experiment of its own, with its
full report at <code>experiments/&lt;experiment id&gt;/report.html</code>:
${report.rows.map((r) => `<code>${e(r.experimentId)}</code>`).join(', ')}.</p>`;
}

function chartsSection(charts: readonly FigureChart[]): string {
  if (charts.length === 0) return '';
  const figures = charts.map((c) =>
    chartFigure(c, {
      captionHtml:
        c.name === 'loss'
          ? 'NT-Xent grows with the batch (log(2N − 1) negatives): compare curves of one batch size.'
          : undefined,
    }),
  );
  return `\n<h2>Charts</h2>\n${figures.join('\n')}`;
}

/** The complete sweep report page. */
export function renderSweepHtml(report: SweepReport, charts: readonly FigureChart[]): string {
  const figures = chartsSection(charts);
  const webUi =
    report.webUiUrl && /^https?:\/\//i.test(report.webUiUrl)
      ? `<a href="${e(report.webUiUrl)}">open this sweep in the Temporal web UI</a>`
      : '<span class="note">not recorded</span>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(report.name)} — SimCLR sweep report</title>
<style>${CSS}${SWEEP_CSS}</style>
</head>
<body>
<main>
<header>
  <h1>Sweep ${e(report.name)}</h1>
  ${report.description ? `<p class="description">${e(report.description)}</p>` : ''}
  <dl class="meta">
    <dt>Sweep</dt><dd><code>${e(report.sweepId)}</code> from <code>${e(report.source)}</code></dd>
    <dt>Variants</dt><dd>${report.rows.length}, at most ${report.maxParallel} at a time</dd>
    <dt>Workflow</dt><dd><code>${e(report.workflowId)}</code> / run <code>${e(report.runId)}</code></dd>
    <dt>Web UI</dt><dd>${webUi}</dd>
    ${report.storeLocation ? `<dt>Artifacts</dt><dd><code>${e(report.storeLocation)}/sweeps/${e(report.sweepId)}/</code></dd>` : ''}
  </dl>
</header>
${expectationsSection(report)}
${tableSection(report)}
${figures}
<footer>SimCLR sweep report, generated ${e(report.generatedAt)}.</footer>
</main>
${chartScripts(figures)}
</body>
</html>
`;
}

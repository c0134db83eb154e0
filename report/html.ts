/**
 * The self-contained report.html: inline CSS, charts as inline SVG with their Vega specs and one inline
 * copy of Vega + vega-embed that makes them interactive (./vega-html.ts), no external requests, so it
 * opens from a bucket, a mail attachment or file://, and reads without scripts too. Every string that
 * comes from the user or the data (name, description, class names, file names, errors, config) is
 * HTML-escaped; the web UI link is only a link when it is http(s).
 *
 * ```ts
 * const html = renderReportHtml(report, await renderReportCharts(report, metrics));
 * ```
 */
import { formatFraction } from './charts';
import { compareWithBaselines, type ComparableResults } from './comparisons';
import { escapeHtml } from './escape';
import { describeDelta } from './lineage';
import type { RunReport, RunResults } from './report';
import { pretrainTimeSection } from './time-breakdown';
import { CHART_CSS, chartFigure, chartScripts, type FigureChart } from './vega-html';

export { escapeHtml };

const e = escapeHtml;

/** 0.8312 → '83.12 %'. */
export function pct(v: number | undefined): string {
  return v === undefined ? '—' : `${(v * 100).toFixed(2)} %`;
}

/** Difference of two accuracies in percentage points, signed: '+41.20 pp'. */
function pp(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return '—';
  const d = (a - b) * 100;
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)} pp`;
}

/** Seconds as '2 h 03 min', '4 min 05 s' or '12.3 s'. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

/** ISO time as 'YYYY-MM-DD HH:MM:SS UTC' (reports are read across time zones). */
function when(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? e(iso)
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** The report pages' stylesheet, shared by the run report and the sweep report. */
export const CSS = `
  :root { --fg:#1d2125; --muted:#5f6b76; --line:#dde2e7; --bg:#f6f8fa; --accent:#1f77b4; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; color:var(--fg); background:#fff; }
  main { max-width: 960px; margin: 0 auto; padding: 28px 24px 60px; }
  h1 { font-size: 26px; margin: 0 0 4px; }
  h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
  h3 { font-size: 15px; margin: 20px 0 8px; }
  .description { color: var(--muted); margin: 0 0 16px; white-space: pre-wrap; }
  .meta { display:grid; grid-template-columns: max-content 1fr; gap: 4px 18px; background:var(--bg); border:1px solid var(--line); border-radius:8px; padding:14px 18px; }
  .meta dt { color: var(--muted); }
  .meta dd { margin:0; overflow-wrap:anywhere; }
  code, pre { font-family: ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace; font-size: 13px; }
  .status { display:inline-block; padding:1px 10px; border-radius:10px; font-size:13px; font-weight:600; }
  .status-completed { background:#e3f4e6; color:#1b6b2a; }
  .status-failed { background:#fde4e1; color:#a8200d; }
  .status-cancelled { background:#fff1d6; color:#8a5a00; }
  .status-running { background:#e3eefa; color:#164f86; }
  .error { background:#fde4e1; border:1px solid #f3b8b0; color:#7d1a0c; border-radius:6px; padding:10px 14px; white-space:pre-wrap; }
  table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
  th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { background: var(--bg); font-weight: 600; font-size: 13.5px; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  tr.total td { font-weight: 600; border-top: 2px solid var(--line); }
  .good { color: #1b6b2a; font-weight: 600; }
  .bad { color: #a8200d; font-weight: 600; }
  .note { color: var(--muted); font-size: 13px; }
  figure { margin: 18px 0 26px; }
  figure img { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
  .wide { overflow-x: auto; }
  th.group { text-align: center; border-bottom: 1px solid var(--line); }
  table.results td:first-child { white-space: nowrap; }
  details { border:1px solid var(--line); border-radius:6px; padding: 8px 14px; margin: 8px 0; }
  summary { cursor: pointer; font-weight: 600; }
  pre { background: var(--bg); padding: 12px; border-radius: 6px; overflow-x: auto; margin: 10px 0 4px; }
  footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
${CHART_CSS}`;

function header(report: RunReport): string {
  const { config } = report;
  const end = report.finishedAt ? Date.parse(report.finishedAt) : undefined;
  const total = end !== undefined ? (end - Date.parse(report.startedAt)) / 1000 : undefined;
  const webUi =
    report.webUiUrl && /^https?:\/\//i.test(report.webUiUrl)
      ? `<a href="${e(report.webUiUrl)}">open this run in the Temporal web UI</a>`
      : '<span class="note">not recorded</span>';
  return `
<header>
  <h1>${e(config.name)}</h1>
  ${config.description ? `<p class="description">${e(config.description)}</p>` : ''}
  <dl class="meta">
    <dt>Experiment</dt><dd><code>${e(report.experimentId)}</code></dd>
    <dt>Status</dt><dd><span class="status status-${e(report.status)}">${e(report.status)}</span></dd>
    <dt>Started</dt><dd>${when(report.startedAt)}</dd>
    <dt>Finished</dt><dd>${when(report.finishedAt)}${total !== undefined ? ` (${duration(total)})` : ''}</dd>
    <dt>Workflow</dt><dd><code>${e(report.workflowId)}</code> / run <code>${e(report.runId)}</code></dd>
    <dt>Web UI</dt><dd>${webUi}</dd>
    ${report.storeLocation ? `<dt>Artifacts</dt><dd><code>${e(report.storeLocation)}/experiments/${e(report.experimentId)}/</code></dd>` : ''}
  </dl>
  ${report.error ? `<h3>Error</h3><div class="error">${e(report.error)}</div>` : ''}
</header>`;
}

/** Where a scheduled run came from, how it compares with the previous run, and its promotion. */
function lineageSection(report: RunReport): string {
  const l = report.lineage;
  if (!l) return '';
  const comparison = l.comparison?.length
    ? `<table>
<thead><tr><th>Result</th><th class="n">This run</th><th class="n">Previous run (${e(l.parentRun ?? '')})</th><th class="n">Change</th></tr></thead>
<tbody>
${l.comparison
  .map((r) => {
    const loss = r.metric.includes('loss');
    const v = (x: number) => (loss ? x.toFixed(4) : pct(x));
    return `<tr><td>${e(r.metric)}</td><td class="n">${v(r.current)}</td><td class="n">${v(r.parent)}</td><td class="n ${r.verdict === 'better' ? 'good' : r.verdict === 'worse' ? 'bad' : ''}">${e(describeDelta(r))}</td></tr>`;
  })
  .join('\n')}
</tbody></table>`
    : `<p class="note">${l.parentRun ? `No comparison: the report of ${e(l.parentRun)} is not in the store.` : 'The first run of the schedule: nothing to compare with.'}</p>`;
  const p = l.promotion;
  return `
<h2>Lineage</h2>
<dl class="meta">
  <dt>Schedule</dt><dd><code>${e(l.schedule)}</code> (${l.trigger === 'manual' ? 'forced by hand' : 'scheduled run'})</dd>
  <dt>Previous run</dt><dd>${l.parentRun ? `<code>${e(l.parentRun)}</code>` : '<span class="note">none</span>'}</dd>
  <dt>Dataset</dt><dd><code>${e(l.datasetId)}</code></dd>
  <dt>Config hash</dt><dd><code>${e(l.configHash)}</code></dd>
  <dt>Code version</dt><dd><code>${e(l.codeVersion)}</code></dd>
  <dt>Warm start</dt><dd>${l.warmStartFrom ? `from <code>${e(l.warmStartFrom)}</code>` : 'no (fresh initialisation)'}</dd>
  <dt>Promotion</dt><dd>${p ? `<strong>${p.promoted ? 'promoted' : 'refused'}</strong>: ${e(p.reason)}` : '<span class="note">not decided</span>'}</dd>
</dl>
${comparison}`;
}

function resultsSection(report: RunReport): string {
  const res = report.results;
  if (!res)
    return `<h2>Results</h2><p class="note">No results: the run ${report.status === 'running' ? 'has not reached evaluation yet' : `ended (${e(report.status)}) before evaluation`}.</p>`;
  const base = res.baseline;
  const margin = (a: number, b: number | undefined) => {
    if (b === undefined) return '<td class="n">—</td>';
    return `<td class="n ${a >= b ? 'good' : 'bad'}">${pp(a, b)}</td>`;
  };
  const rows: string[] = [];
  const row = (
    what: string,
    labels: string,
    top1: number,
    top5: number,
    b?: { top1: number; top5: number },
  ) =>
    rows.push(
      `<tr><td>${what}</td><td class="n">${labels}</td><td class="n">${pct(top1)}</td><td class="n">${pct(top5)}</td>` +
        `<td class="n">${pct(b?.top1)}</td><td class="n">${pct(b?.top5)}</td>${margin(top1, b?.top1)}</tr>`,
    );
  row(
    'Linear eval <span class="note">(frozen)</span>',
    '100 %',
    res.linear.top1,
    res.linear.top5,
    base?.linear,
  );
  row(
    `kNN${res.knn.k ? `, k = ${res.knn.k}` : ''} <span class="note">(frozen)</span>`,
    '100 %',
    res.knn.top1,
    res.knn.top5,
    base?.knn,
  );
  for (const f of [...res.fineTune].sort((a, b) => a.fraction - b.fraction)) {
    const n =
      f.labelledImages !== undefined ? `<br><span class="note">${num(f.labelledImages)} images</span>` : '';
    row('Fine-tuned', `${formatFraction(f.fraction)}${n}`, f.top1, f.top5);
  }
  return `
<h2>Results</h2>
<div class="wide">
<table class="results">
  <thead>
    <tr><th rowspan="2">Evaluation</th><th rowspan="2" class="n">Labels</th><th colspan="2" class="group">SimCLR encoder</th>
    <th colspan="2" class="group">Random-init encoder</th><th class="n">Margin</th></tr>
    <tr><th class="n">top-1</th><th class="n">top-5</th><th class="n">top-1</th><th class="n">top-5</th><th class="n">top-1</th></tr>
  </thead>
  <tbody>${rows.join('\n')}</tbody>
</table>
</div>
<p class="note">Accuracy on the test split. The random-init baseline is an encoder of the same architecture that was never trained,
evaluated the same way; the margin is SimCLR minus baseline in percentage points.${base ? '' : ' No baseline was evaluated (evaluation.randomInitBaseline is off).'}</p>`;
}

/** The report's results in the shape the comparisons read. */
export function comparableReportResults(res: RunResults): ComparableResults {
  return {
    linear: res.linear,
    knn: res.knn,
    fineTune: res.fineTune,
    randomInit: res.baseline,
    pixels: res.baselines?.pixels,
    supervised: res.baselines?.supervised,
    scratchFineTune: res.baselines?.scratchFineTune,
  };
}

/** Every SimCLR-vs-baseline pair with its margin and a plain verdict; says which baselines did not run. */
function baselinesSection(report: RunReport): string {
  const res = report.results;
  if (!res) return '';
  const comparisons = compareWithBaselines(comparableReportResults(res));
  const lr = report.config.evaluation.baselines.fromScratchLearningRate;
  const missing = [
    res.baseline ? undefined : 'random-init encoder (evaluation.randomInitBaseline)',
    res.baselines?.pixels ? undefined : 'raw pixels (evaluation.baselines.pixels)',
    res.baselines?.supervised ? undefined : 'supervised upper bound (evaluation.baselines.supervised)',
    res.baselines?.scratchFineTune
      ? undefined
      : 'training from scratch (evaluation.baselines.scratchFineTune)',
  ].filter((m): m is string => m !== undefined);
  const notRun = missing.length ? ` Not evaluated in this run: ${missing.join('; ')}.` : '';
  if (comparisons.length === 0)
    return `<h2>SimCLR against the baselines</h2><p class="note">No baseline was evaluated.${notRun}</p>`;
  const rows = comparisons.map(
    (c) =>
      `<tr><td>${e(c.evaluation)}</td><td>${e(c.baseline)}${c.upperBound ? ' <span class="note">(upper bound)</span>' : ''}</td>` +
      `<td class="n">${pct(c.simclr.top1)}</td><td class="n">${pct(c.other.top1)}</td><td class="n">${pct(c.other.top5)}</td>` +
      `<td class="n ${c.outcome === 'beat' ? 'good' : c.outcome === 'behind' ? 'bad' : ''}">${e(c.text)}</td></tr>`,
  );
  return `
<h2>SimCLR against the baselines</h2>
<div class="wide">
<table class="results">
  <thead><tr><th>SimCLR</th><th>Baseline</th><th class="n">SimCLR top-1</th><th class="n">Baseline top-1</th>
  <th class="n">Baseline top-5</th><th class="n">Verdict (top-1)</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>
</div>
<p class="note">Raw pixels: the flattened image scaled to [0, 1], with the same linear-evaluation and kNN protocols as the encoders.
Supervised: the same encoder trained from random initialisation with every training label for as many epochs as pretraining,
with the fine-tuning optimiser, batch size and augmentation; an upper bound SimCLR is not expected to beat at equal epochs.
From scratch: the same network and settings as fine-tuning, on the same labels, without pretraining.
Both trainings from random initialisation use the base learning rate ${lr} (evaluation.baselines.fromScratchLearningRate,
× batch size / 256) instead of fine-tuning's, which leaves a network from random initialisation undertrained.
Beat / behind: SimCLR's top-1 minus the baseline's, in percentage points.${notRun}</p>`;
}

function chartsSection(charts: readonly FigureChart[]): string {
  if (charts.length === 0) return '';
  return `<h2>Charts</h2>\n${charts.map((c) => chartFigure(c)).join('\n')}`;
}

function trainingSection(report: RunReport): string {
  const b = report.backend;
  const backendRows = [
    [
      'Backend',
      `<code>${e(b.name)}</code>${b.requested ? ` <span class="note">(requested: ${e(b.requested)})</span>` : ''}`,
    ],
    b.provider ? ['Provider', e(b.provider)] : undefined,
    b.device ? ['Device', e(b.device)] : undefined,
    b.fallbackReason ? ['Fallback', e(b.fallbackReason)] : undefined,
  ].filter((x): x is string[] => x !== undefined);
  const p = report.pretrain;
  const pretrainRows = p
    ? [
        ['Epochs completed', num(p.epochs)],
        ['Optimisation steps', num(p.steps)],
        p.finalLoss !== undefined ? ['Final mean loss', p.finalLoss.toFixed(4)] : undefined,
        p.imagesPerSec !== undefined ? ['Throughput', `${p.imagesPerSec.toFixed(1)} images/s`] : undefined,
        p.augmentationWaitMs !== undefined
          ? ['Waited for augmentations', duration(p.augmentationWaitMs / 1000)]
          : undefined,
      ].filter((x): x is string[] => x !== undefined)
    : [];
  const kv = (rows: string[][]) =>
    `<dl class="meta">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const timingRows = report.timings.map(
    (t) =>
      `<tr><td>${e(t.stage)}</td><td>${when(t.startedAt)}</td><td>${t.endedAt ? when(t.endedAt) : '<span class="note">running</span>'}</td>` +
      `<td class="n">${duration(t.seconds)}</td></tr>`,
  );
  const total = report.timings.reduce((a, t) => a + (t.seconds ?? 0), 0);
  return `
<h2>Training</h2>
${kv(backendRows)}
${pretrainRows.length ? `<h3>Pretraining</h3>${kv(pretrainRows)}` : ''}
<h3>Time per stage</h3>
<table>
  <thead><tr><th>Stage</th><th>Started</th><th>Ended</th><th class="n">Duration</th></tr></thead>
  <tbody>${timingRows.join('\n')}
  <tr class="total"><td>Total</td><td></td><td></td><td class="n">${duration(total)}</td></tr></tbody>
</table>`;
}

/** How many skipped files are listed; the rest are counted. */
const MAX_SKIPPED_ROWS = 200;

function datasetSection(report: RunReport): string {
  const d = report.dataset;
  const { train, test } = d.splits;
  const classRows = d.classNames.map(
    (name, i) =>
      `<tr><td class="n">${i}</td><td>${e(name)}</td><td class="n">${train.perClass[i] !== undefined ? num(train.perClass[i]) : '—'}</td>` +
      `<td class="n">${test.perClass[i] !== undefined ? num(test.perClass[i]) : '—'}</td></tr>`,
  );
  const fractions = d.labelFractions.length
    ? `<p>Label fractions (class-balanced subsets of the training split): ${d.labelFractions
        .map((f) => `${formatFraction(f.fraction)} = ${num(f.count)} images`)
        .join(', ')}.</p>`
    : '';
  const skippedRows = d.skipped
    .slice(0, MAX_SKIPPED_ROWS)
    .map((s) => `<tr><td><code>${e(s.file)}</code></td><td>${e(s.reason)}</td></tr>`);
  const more =
    d.skipped.length > MAX_SKIPPED_ROWS
      ? `<p class="note">… and ${num(d.skipped.length - MAX_SKIPPED_ROWS)} more.</p>`
      : '';
  const skipped = d.skipped.length
    ? `<details${d.skipped.length <= 20 ? ' open' : ''}><summary>${num(d.skipped.length)} skipped file${d.skipped.length === 1 ? '' : 's'}</summary>
<table><thead><tr><th>File</th><th>Reason</th></tr></thead><tbody>${skippedRows.join('\n')}</tbody></table>${more}</details>`
    : '<p class="note">No source files were skipped.</p>';
  return `
<h2>Dataset</h2>
<dl class="meta">
  <dt>Dataset</dt><dd><code>${e(d.datasetId)}</code></dd>
  <dt>Source</dt><dd><code>${e(d.source)}</code> <span class="note">(${e(d.format)})</span></dd>
  <dt>Images</dt><dd>${d.imageSize}×${d.imageSize} px, ${d.channels === 1 ? 'grayscale' : 'RGB'}; ${num(train.count)} train, ${num(test.count)} test</dd>
</dl>
${fractions}
<h3>Images per class</h3>
<table>
  <thead><tr><th class="n">#</th><th>Class</th><th class="n">Train</th><th class="n">Test</th></tr></thead>
  <tbody>${classRows.join('\n')}
  <tr class="total"><td></td><td>Total</td><td class="n">${num(train.count)}</td><td class="n">${num(test.count)}</td></tr></tbody>
</table>
<h3>Skipped files</h3>
${skipped}`;
}

function configSection(report: RunReport): string {
  return `
<h2>Configuration</h2>
<details><summary>Experiment config (JSON, defaults filled in)</summary>
<pre>${e(JSON.stringify(report.config, null, 2))}</pre></details>`;
}

/**
 * The complete report page. `charts` are shown in the order given; `sections` (HTML, each with its
 * own <h2>, e.g. figures from ./vega-html.ts chartFigure) follow the charts.
 */
export function renderReportHtml(
  report: RunReport,
  charts: readonly FigureChart[],
  sections: readonly string[] = [],
): string {
  const body = `
<main>
${header(report)}
${lineageSection(report)}
${resultsSection(report)}
${baselinesSection(report)}
${chartsSection(charts)}
${sections.join('\n')}
${trainingSection(report)}
${pretrainTimeSection(report.pretrain?.timeBreakdown)}
${datasetSection(report)}
${configSection(report)}
<footer>SimCLR run report${report.generatedAt ? `, generated ${when(report.generatedAt)}` : ''}.</footer>
</main>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(report.config.name)} — SimCLR run report</title>
<style>${CSS}</style>
</head>
<body>${body}
${chartScripts(body)}
</body>
</html>
`;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../simclr/backend';
import { FsBlobStore } from '../../storage/fs-store';
import { barChartSpec, lineChartSpec } from '../../report/chart-specs';
import { renderReportCharts, svgToPng } from '../../report/charts';
import { confusionMatrixSpec } from '../../report/confusion-chart';
import { renderReportHtml } from '../../report/html';
import {
  appendMetrics,
  metric,
  metricsChunk,
  parseMetricsJsonl,
  readMetrics,
  writeMetricsJsonl,
} from '../../report/metrics';
import { parseRunReport, writeReport } from '../../report/report';
import { tensorBoardTag, writeTensorBoard } from '../../report/tensorboard';
import { textWidth, vegaTextWidth } from '../../report/text-width';
import { chartFigure, chartScripts } from '../../report/vega-html';
import { CHART_HEIGHT, CHART_WIDTH, renderVegaLite } from '../../report/vega';
import { syntheticMetrics, syntheticReport } from '../helpers/report-fixture';
import { lineDashes, marks, svgSize, texts } from '../helpers/vega-svg';

/** Fraction of pixels that are not (near) white. */
async function inkFraction(
  png: Buffer,
  region?: { left: number; top: number; width: number; height: number },
): Promise<number> {
  let img = sharp(png).removeAlpha().greyscale();
  if (region) img = img.extract(region);
  const { data } = await img.raw().toBuffer({ resolveWithObject: true });
  let ink = 0;
  for (const v of data) if (v < 200) ink++;
  return ink / data.length;
}

test('text is laid out at the widths DejaVu Sans draws it, bold wider, capped at a label limit', () => {
  // 'iii' is narrow and 'WWW' wide in any proportional font; Vega's own guess makes them equal.
  assert.ok(textWidth('WWW', 12) > 3 * textWidth('iii', 12));
  assert.equal(Number(textWidth('Trouser', 10).toFixed(2)), 38.15, 'T r o u s e r: 0.611 + 0.411 + … em');
  assert.ok(textWidth('Coat', 12, true) > textWidth('Coat', 12));
  assert.equal(vegaTextWidth({ fontSize: 12, limit: 40 }, 'a rather long class name'), 40);
  assert.equal(vegaTextWidth({ fontSize: 20, fontWeight: 'bold' }, ' A '), textWidth('A', 20, true));
  assert.equal(vegaTextWidth({ fontSize: 12 }, undefined), 0);
});

test('a line chart draws each series, dots on short ones, dashed levels, titles and one legend', async () => {
  const knn = Array.from({ length: 12 }, (_, i) => ({ x: i, y: 40 + 3 * i }));
  const loss = Array.from({ length: 300 }, (_, i) => ({ x: i * 10, y: 6 - i / 100 }));
  const { spec, staticSpec } = lineChartSpec({
    title: 'kNN & <friends>',
    xLabel: 'epoch',
    yLabel: 'kNN top-1 (%)',
    series: [
      { label: 'SimCLR encoder', color: '#2ca02c', points: knn },
      { label: 'long', color: '#1f77b4', points: loss },
      {
        label: 'random-init encoder',
        color: '#8c8c8c',
        dashed: true,
        markers: false,
        points: [
          { x: 0, y: 30 },
          { x: 11, y: 30 },
        ],
      },
      { label: 'empty series', color: '#000', points: [] },
    ],
    yMin: 0,
    xInteger: true,
  });
  const { svg, spec: compiled } = await renderVegaLite(spec, { staticSpec });
  assert.deepEqual(svgSize(svg), { width: CHART_WIDTH, height: CHART_HEIGHT });
  assert.deepEqual(texts(svg, 'title-text'), ['kNN & <friends>']);
  assert.ok(svg.includes('kNN &amp; &lt;friends&gt;'), 'the title is escaped in the SVG');
  assert.deepEqual(texts(svg, 'axis-title').sort(), ['epoch', 'kNN top-1 (%)']);
  // One legend for colour and dash; the series without points is left out.
  assert.deepEqual(texts(svg, 'legend-label'), ['SimCLR encoder', 'long', 'random-init encoder']);
  assert.deepEqual(lineDashes(svg), ['1,0', '1,0', '6,4']);
  // Dots on the 12-point series only (the 300-point one would be a smear); the y axis starts at 0.
  assert.deepEqual(
    marks(svg, 'symbol').map((m) => m.length),
    [12],
  );
  assert.equal(texts(svg, 'axis-label').filter((t) => t === '0').length, 2, 'x and y both start at 0');
  // Ticks in their shortest form: 10, never '1e+1' or '10.0' ('k' for thousands from 10 000 steps on).
  const ticks = texts(svg, 'axis-label');
  for (const t of ['10', '70', '1000', '2000']) assert.ok(ticks.includes(t), `no tick '${t}' in ${ticks}`);
  assert.ok(!ticks.some((t) => /e[+-]|\.0$/.test(t)), `ticks ${ticks}`);
  // The hover layer (nearest point + tooltip) is in the interactive spec only, not in the static SVG.
  const json = JSON.stringify(compiled);
  assert.ok(json.includes('"hover_tuple"') && json.includes('"tooltip"'), 'no hover/tooltip in the spec');
  assert.ok(!svg.includes('voronoi') && !svg.includes('hover'), 'hover marks leaked into the SVG');
  assert.throws(
    () => lineChartSpec({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [] }),
    /chart 'empty' has no data points/,
  );
  assert.throws(
    () =>
      lineChartSpec({
        title: 'nan',
        xLabel: 'x',
        yLabel: 'y',
        series: [{ label: 's', color: '#000', points: [{ x: 1, y: Number.NaN }] }],
      }),
    /non-finite point \(1, NaN\)/,
  );
});

test('a bar chart centres the bars a category has, prints their values and splits category labels', async () => {
  const spec = barChartSpec({
    title: 'Top-1',
    yLabel: 'top-1 accuracy (%)',
    categories: ['1 % labels\nfine-tuned', '100 % labels\nlinear eval', 'kNN'],
    series: [
      { label: 'SimCLR encoder', color: '#1f77b4', values: [70.25, 83.12, 79.34] },
      { label: 'random-init encoder', color: '#8c8c8c', values: [undefined, 65.43, 60.11] },
      { label: 'never measured', color: '#000', values: [undefined, undefined, undefined] },
    ],
    yMax: 100,
  });
  const { svg } = await renderVegaLite(spec);
  const bars = marks(svg, 'rect').flat();
  assert.equal(bars.length, 5, 'one bar per value, none for a missing one');
  assert.deepEqual(texts(svg, 'mark'), ['70.3', '83.1', '65.4', '79.3', '60.1']);
  assert.deepEqual(texts(svg, 'axis-label').slice(0, 3), [
    '1 % labels\nfine-tuned',
    '100 % labels\nlinear eval',
    'kNN',
  ]);
  assert.deepEqual(texts(svg, 'legend-label'), ['SimCLR encoder', 'random-init encoder']);
  assert.ok(texts(svg, 'axis-label').includes('100'), 'the y axis reaches 100');
  // The lone bar of the first category is centred on its label: its middle is the label's x.
  const x = (item: string) => {
    const m = /d="M([\d.]+),[\d.]+h([\d.]+)/.exec(item)!;
    return Number(m[1]) + Number(m[2]) / 2;
  };
  const labelX = Number(/translate\(([\d.]+),/.exec(svg.slice(svg.indexOf('role-axis-label')))![1]);
  assert.ok(Math.abs(x(bars[0]) - labelX) < 1, `bar at ${x(bars[0])}, label at ${labelX}`);
  assert.throws(
    () =>
      barChartSpec({
        title: 'b',
        yLabel: 'y',
        categories: ['a'],
        series: [{ label: 's', color: '#000', values: [1, 2] }],
      }),
    /series 's' has 2 values for 1 categories/,
  );
  assert.throws(
    () =>
      barChartSpec({
        title: 'b',
        yLabel: 'y',
        categories: ['a'],
        series: [{ label: 's', color: '#000', values: [undefined] }],
      }),
    /chart 'b' has no bars/,
  );
});

test('the confusion matrix: a cell per class pair with its count, class names on both axes', async () => {
  const classNames = ['T-shirt/top', 'Trouser', '<b>Bag</b>'];
  const matrix = [
    [90, 3, 7],
    [1, 98, 1],
    [12, 0, 88],
  ];
  const { svg } = await renderVegaLite(confusionMatrixSpec({ matrix, classNames }));
  assert.equal(marks(svg, 'rect').flat().length, 9);
  assert.deepEqual(texts(svg, 'mark'), ['90', '3', '7', '1', '98', '1', '12', '0', '88']);
  const labels = texts(svg, 'axis-label');
  for (const name of classNames)
    assert.equal(labels.filter((l) => l === name).length, 2, `${name} on both axes`);
  assert.ok(!svg.includes('<b>'), 'class names are escaped');
  assert.deepEqual(texts(svg, 'axis-title').sort(), ['predicted class', 'true class']);
  assert.match(svg, /276 of 300 test images on the diagonal \(92\.00 %\)/);
  // A dark cell gets white text.
  assert.match(marks(svg, 'text').flat()[0], /fill="white"/);
  assert.throws(
    () => confusionMatrixSpec({ matrix: [[1, 2]], classNames: ['a', 'b'] }),
    /1 rows for 2 class names/,
  );
  assert.throws(
    () =>
      confusionMatrixSpec({
        matrix: [
          [1, 0.5],
          [0, 1],
        ],
        classNames: ['a', 'b'],
      }),
    /cell \[0\]\[1\] is 0.5, not a count/,
  );
});

test('a chart figure: data cannot close its script, a bad name is refused, the SVG can be left out', async () => {
  const evil = '</script><script>alert(1)</script><!--';
  const chart = await renderVegaLite(
    confusionMatrixSpec({
      matrix: [
        [1, 0],
        [0, 1],
      ],
      classNames: [evil, 'b'],
    }),
  );
  const figure = chartFigure({ name: 'confusion', title: `Confusion ${evil}`, ...chart });
  assert.equal(figure.match(/<\/script>/g)?.length, 1, 'only the spec script closes');
  assert.ok(
    !figure.includes('<script>alert') && !figure.includes('<!--'),
    'markup from the data got through',
  );
  const json = /class="chart-spec">([^<]*)<\/script>/.exec(figure)![1];
  assert.deepEqual(JSON.parse(json), chart.spec, 'the spec survives its escaping');
  assert.match(figure, /aria-label="Confusion &lt;\/script&gt;/);
  const lazy = chartFigure(
    { name: 'map', title: 'A map', ...chart },
    { staticSvg: false, renderer: 'canvas' },
  );
  assert.ok(!lazy.includes('<svg') && lazy.includes('data-renderer="canvas"') && lazy.includes('A map'));
  assert.throws(() => chartFigure({ name: 'a b', title: 't', svg: '<svg/>' }), /chart name 'a b'/);
  assert.equal(
    chartScripts(chartFigure({ name: 'x', title: 't', svg: '<svg/>' })),
    '',
    'no spec, no runtime',
  );
  assert.match(chartScripts(figure), /^<script>\/\* vega /);
});

test('metrics chunks: append, rewrite on retry, merge sorted by time, reject bad records', async () => {
  const root = mkdtempSync(join(tmpdir(), 'report-metrics-'));
  try {
    const store = new FsBlobStore(root);
    const all = syntheticMetrics();
    const epoch1 = all.filter((r) => r.stage === 'pretrain' && r.epoch === 1);
    const epoch0 = all.filter((r) => r.stage === 'pretrain' && r.epoch === 0);
    // Written out of order, and epoch 1 twice (a retried activity): no duplicates, sorted by time.
    await appendMetrics(store, 'exp-a', metricsChunk('pretrain', 1), epoch1);
    await appendMetrics(store, 'exp-a', metricsChunk('pretrain', 0), epoch0);
    const key = await appendMetrics(store, 'exp-a', metricsChunk('pretrain', 1), epoch1);
    assert.equal(key, 'experiments/exp-a/metrics/pretrain-000000001.jsonl');
    const merged = await readMetrics(store, 'exp-a');
    assert.equal(merged.length, epoch0.length + epoch1.length);
    assert.deepEqual(merged, [...epoch0, ...epoch1]);

    const jsonlKey = await writeMetricsJsonl(store, 'exp-a');
    assert.equal(jsonlKey, 'experiments/exp-a/metrics.jsonl');
    assert.deepEqual(parseMetricsJsonl((await store.get(jsonlKey)).toString(), jsonlKey), merged);

    const bad = { ...epoch0[0], value: Number.NaN };
    await assert.rejects(
      appendMetrics(store, 'exp-a', 'pretrain-x', [bad]),
      /record 0: invalid metric record[\s\S]*value/,
    );
    await assert.rejects(appendMetrics(store, 'exp-a', '../escape', epoch0), /chunk name/);
    assert.throws(
      () =>
        parseMetricsJsonl(
          '{"time":"2025-01-01T00:00:00Z","stage":"nope","name":"loss","value":1}\n',
          'm.jsonl',
        ),
      /m\.jsonl, line 1.*stage|m\.jsonl, line 1[\s\S]*stage/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('charts render to PNGs of the expected size with visible lines and text', async () => {
  const report = parseRunReport(syntheticReport());
  const charts = await renderReportCharts(report, syntheticMetrics());
  assert.deepEqual(
    charts.map((c) => c.name),
    ['loss', 'learning-rate', 'knn', 'accuracy'],
  );
  for (const chart of charts) {
    const meta = await sharp(chart.png).metadata();
    assert.equal(meta.format, 'png', chart.name);
    assert.equal(meta.width, CHART_WIDTH * 2, chart.name);
    assert.equal(meta.height, CHART_HEIGHT * 2, chart.name);
    // Not blank: some ink overall, and the title text (top-left band) actually rendered.
    const ink = await inkFraction(chart.png);
    assert.ok(ink > 0.01 && ink < 0.5, `${chart.name}: ${ink} of the pixels are not white`);
    const titleInk = await inkFraction(chart.png, { left: 160, top: 20, width: 500, height: 50 });
    assert.ok(titleInk > 0.02, `${chart.name}: title band has ${titleInk} ink; fonts did not render`);
  }
  // The loss line itself is drawn in the plot area (the series colour is present).
  const { data, info } = await sharp(charts[0].png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let blue = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] < 60 && data[i + 2] > 150) blue++;
  assert.ok(blue > 500, `only ${blue} pixels of the loss line`);

  // The charts show what the run measured: the axis titles, the loss line downsampled to 1000 points
  // per series only when longer (400 steps stay whole), the kNN monitor's 10 epochs as dots.
  const [loss, lr, knn, accuracy] = charts;
  assert.deepEqual(texts(loss.svg, 'axis-title').sort(), ['NT-Xent loss', 'step']);
  assert.deepEqual(texts(loss.svg, 'legend-label'), ['NT-Xent loss', 'smoothed (EMA)']);
  assert.deepEqual(texts(lr.svg, 'axis-title').sort(), ['learning rate', 'step']);
  assert.deepEqual(texts(knn.svg, 'legend-label'), ['SimCLR encoder', 'random-init encoder']);
  assert.equal(marks(knn.svg, 'symbol').flat().length, 10);
  assert.equal(marks(accuracy.svg, 'rect').flat().length, 5, '3 SimCLR bars, 2 random-init bars');
  const points = (c: (typeof charts)[number]) =>
    (c.spec.data ?? []).reduce(
      (n, d) => n + ('values' in d && Array.isArray(d.values) ? d.values.length : 0),
      0,
    );
  assert.equal(points(loss), 800, 'raw and smoothed loss, 400 points each');

  // Without metrics or results, there is nothing to draw.
  assert.deepEqual(await renderReportCharts(undefined, []), []);
  const one = await renderVegaLite(
    lineChartSpec({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ label: 's', color: '#000', points: [{ x: 3, y: 1 }] }],
    }).spec,
  );
  assert.equal((await sharp(await svgToPng(one.svg, 1)).metadata()).width, CHART_WIDTH);
});

test('report html shows the values and escapes user strings', async () => {
  const report = parseRunReport(syntheticReport());
  const charts = await renderReportCharts(report, syntheticMetrics());
  const html = renderReportHtml(report, charts);
  for (const value of [
    '83.12 %',
    '99.01 %',
    '79.34 %',
    '77.77 %',
    '65.43 %',
    '60.11 %',
    '+17.69 pp',
    '+19.23 pp',
    'Pullover',
    'corrupt PNG header',
  ]) {
    assert.ok(html.includes(value), `html lacks '${value}'`);
  }
  assert.ok(!html.includes('<script>alert'), 'a <script> tag got through');
  assert.ok(html.includes('pretraining &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more'));
  assert.ok(html.includes('broken&lt;img&gt;.png'));
  assert.ok(html.includes(`href="${report.webUiUrl}"`));
  // Each chart: a figure with its static SVG and its Vega spec (the same data), then one inline runtime.
  const figures = [...html.matchAll(/<figure class="chart" id="chart-([\w-]+)"[\s\S]*?<\/figure>/g)];
  assert.deepEqual(
    figures.map((f) => f[1]),
    charts.map((c) => c.name),
  );
  for (const [figure, name] of figures) {
    assert.equal(figure.match(/<svg /g)?.length, 1, `${name}: one inline SVG`);
    const json = /<script type="application\/json" class="chart-spec">([\s\S]*?)<\/script>/.exec(figure)![1];
    assert.deepEqual(JSON.parse(json), charts.find((c) => c.name === name)!.spec, `${name}: spec embedded`);
  }
  assert.equal(html.match(/<script>\/\* vega \d+\.\d+\.\d+/g)?.length, 1, 'the Vega runtime, once');
  assert.equal(html.match(/<script>\/\* vega-embed /g)?.length, 1, 'vega-embed, once');
  assert.ok(!html.includes('data:image/png'), 'no raster charts');
  // Self-contained: nothing is loaded from elsewhere (the runtime's own strings name URLs, never as src).
  assert.ok(!/<(script|img|link)[^>]+(src|href)="(https?:)?\/\//.test(html), 'an external resource');
  assert.ok(!renderReportHtml(report, []).includes('<script'), 'no charts, no script');
  // A section of figures added to the page gets them drawn too, after the charts.
  const section = `<h2>Representation</h2>\n${chartFigure(charts[0], { staticSvg: false })}`;
  const extended = renderReportHtml(report, [], [section]);
  assert.ok(extended.includes('<h2>Representation</h2>') && extended.includes('id="chart-loss"'));
  assert.equal(extended.match(/<script>\/\* vega-embed /g)?.length, 1, 'the runtime for the added figure');
  assert.ok(html.includes('<details') && html.includes('&quot;learningRate&quot;'), 'config JSON is missing');
  // Only http(s) links are accepted for the web UI.
  assert.throws(() => parseRunReport({ ...syntheticReport(), webUiUrl: 'javascript:alert(1)' }), /webUiUrl/);
});

test('writeReport stores report.json, report.html, metrics.jsonl and charts in a FsBlobStore', async () => {
  const root = mkdtempSync(join(tmpdir(), 'report-write-'));
  try {
    const store = new FsBlobStore(root);
    const metrics = syntheticMetrics();
    await appendMetrics(
      store,
      'fmnist-test',
      metricsChunk('pretrain', 0),
      metrics.filter((r) => r.stage === 'pretrain'),
    );
    await appendMetrics(
      store,
      'fmnist-test',
      metricsChunk('knn', 0),
      metrics.filter((r) => r.stage === 'knn'),
    );
    const keys = await writeReport(store, 'fmnist-test', syntheticReport());
    assert.equal(keys.reportJson, 'experiments/fmnist-test/report.json');
    assert.equal(keys.reportHtml, 'experiments/fmnist-test/report.html');
    assert.equal(keys.metricsJsonl, 'experiments/fmnist-test/metrics.jsonl');
    assert.deepEqual(
      keys.charts,
      ['loss', 'learning-rate', 'knn', 'accuracy'].map((n) => `experiments/fmnist-test/charts/${n}.png`),
    );

    const saved = parseRunReport(JSON.parse((await store.get(keys.reportJson)).toString()));
    assert.deepEqual(saved, parseRunReport(syntheticReport()));
    const lines = (await store.get(keys.metricsJsonl)).toString().trim().split('\n');
    assert.equal(lines.length, metrics.length);
    assert.ok((await store.get(keys.reportHtml)).toString().includes('83.12 %'));
    for (const key of keys.charts) assert.equal((await sharp(await store.get(key)).metadata()).format, 'png');

    // Idempotent: a second call rewrites the same objects and adds none.
    const before = (await store.list('experiments/fmnist-test/')).map((s) => s.key);
    assert.deepEqual(await writeReport(store, 'fmnist-test', syntheticReport()), keys);
    assert.deepEqual(
      (await store.list('experiments/fmnist-test/')).map((s) => s.key),
      before,
    );

    await assert.rejects(
      writeReport(store, 'other', syntheticReport()),
      /of experiment 'fmnist-test', not 'other'/,
    );
    await assert.rejects(
      writeReport(store, 'fmnist-test', {
        ...syntheticReport(),
        results: { ...syntheticReport().results!, linear: { top1: 1.5, top5: 1 } },
      }),
      /results\.linear\.top1/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('TensorBoard writer produces an events file with the scalars', async () => {
  await initBackend('tensorflow');
  const dir = mkdtempSync(join(tmpdir(), 'report-tb-'));
  try {
    const records = syntheticMetrics();
    const out = await writeTensorBoard(join(dir, 'run'), records);
    assert.equal(out.scalars, records.length);
    assert.equal(out.files.length, 1);
    assert.ok(out.files[0].size > 1000, `event file has ${out.files[0].size} bytes`);
    const bytes = readFileSync(out.files[0].path);
    assert.ok(
      bytes.includes('pretrain/loss') && bytes.includes('knn/knn_top1'),
      'tags missing from the event file',
    );
    assert.equal(
      tensorBoardTag(metric('finetune', 'loss', 1, { fraction: 0.1, encoder: 'random-init' })),
      'random-init/finetune/fraction-0.1/loss',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The sweep end to end on a real Temporal dev server and the filesystem store: a sweep with one
 * variant runs it as a child experiment; the same sweep id run again through `simclr sweep
 * --embedded` with two variants skips the completed one (no second child execution), runs the new
 * one, and writes the comparison report; the recorded sweep history replays.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { sweepInput } from '../../cli/commands/sweep';
import { loadSweepFile } from '../../config/sweep';
import type { SweepReport } from '../../report/sweep-report';
import { sweepKeys } from '../../storage/layout';
import type { WorkersHandle } from '../../workers/run-workers';
import { sweep } from '../../workflows/sweep';
import type { SweepResults } from '../../contracts';
import { CPU_QUEUE, WORK_STAGES } from '../../contracts';
import { parseJsonOutput, ROOT, runSimclr } from '../helpers/cli';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'sweep-small.yaml');

let temporal: TestWorkflowEnvironment;
let workers: WorkersHandle | undefined;
let home: string;
const savedEnv = { ...process.env };

before(async () => {
  temporal = await startTestTemporal();
  home = mkdtempSync(join(tmpdir(), 'simclr-sweep-'));
  // This process's workers and the CLI's embedded ones share the filesystem store under $SIMCLR_HOME.
  process.env.SIMCLR_HOME = home;
  delete process.env.SIMCLR_STORE;
  workers = await startTestWorkers(temporal);
});

after(async () => {
  await workers?.shutdown();
  await temporal?.teardown();
  rmSync(home, { recursive: true, force: true });
  process.env = savedEnv;
});

async function executions(workflowId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const w of temporal.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    out.push(w.status.name);
  return out;
}

test('a sweep runs child experiments, skips the completed ones when run again, and writes its report', async () => {
  const plan = await loadSweepFile(FIXTURE);
  assert.deepEqual(
    plan.variants.map((v) => v.name),
    ['nonlinear', 'none'],
  );
  const sweepId = `sweep-e2e-${Date.now()}`;

  // First run: only the first variant.
  const first: SweepResults = await temporal.client.workflow.execute(sweep, {
    workflowId: sweepId,
    taskQueue: CPU_QUEUE,
    args: [sweepInput({ ...plan, variants: plan.variants.slice(0, 1), expectations: [] }, sweepId)],
  });
  assert.deepEqual(
    first.variants.map((v) => [v.name, v.state, v.workflowId]),
    [['nonlinear', 'completed', `${sweepId}/nonlinear`]],
  );
  assert.ok(first.variants[0].linearTop1! > 0.3, `linear top-1 ${first.variants[0].linearTop1}`);
  await workers?.shutdown();
  workers = undefined;

  // Second run, same id, both variants, through the CLI with its own embedded workers.
  const r = await runSimclr(['sweep', FIXTURE, '--id', sweepId, '--embedded', '--json'], {
    home,
    address: temporal.address,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr);
  // The running child's own progress, as `simclr run` prints it, under its variant's name.
  assert.match(r.stderr, new RegExp(`^ {2}none {2}(${WORK_STAGES.join('|')})\\b`, 'm'), r.stderr);
  const doc = parseJsonOutput(r) as { status: string; report: string; results: SweepResults };
  assert.equal(doc.status, 'COMPLETED');
  assert.deepEqual(
    doc.results.variants.map((v) => [v.name, v.state]),
    [
      ['nonlinear', 'skipped'],
      ['none', 'completed'],
    ],
  );
  assert.equal(
    doc.results.variants[0].linearTop1,
    first.variants[0].linearTop1,
    'results of the earlier run',
  );
  assert.deepEqual(await executions(`${sweepId}/nonlinear`), ['COMPLETED'], 'the completed child ran once');
  assert.deepEqual(await executions(`${sweepId}/none`), ['COMPLETED']);

  // The report: both rows with their numbers, the expectation checked, the charts and the HTML.
  const store = join(home, 'store');
  const keys = sweepKeys(sweepId);
  assert.equal(doc.report, `file://${join(store, keys.reportHtml)}`);
  const report = JSON.parse(readFileSync(join(store, keys.reportJson), 'utf8')) as SweepReport;
  assert.deepEqual(report.knobs, ['model.head.type']);
  assert.deepEqual(
    report.rows.map((row) => [row.variant, row.knobs['model.head.type'], row.state]),
    [
      ['nonlinear', 'nonlinear', 'skipped'],
      ['none', 'none', 'completed'],
    ],
  );
  // Real numbers from real (4-step) trainings: well above the 10 % of chance, no more is asked.
  for (const row of report.rows) {
    assert.ok(
      row.linearTop1! > 0.3 && row.knnTop1! > 0.2,
      `${row.variant}: ${row.linearTop1} ${row.knnTop1}`,
    );
    assert.equal(row.fineTune.length, 1);
    assert.ok(row.finalLoss! > 0 && row.wallSeconds! > 0);
  }
  assert.equal(report.expectations.length, 1);
  assert.notEqual(report.expectations[0].verdict, 'incomplete');
  for (const chart of ['accuracy', 'loss']) assert.ok(existsSync(join(store, keys.chart(chart))), chart);
  const html = readFileSync(join(store, keys.reportHtml), 'utf8');
  assert.match(html, /nonlinear &gt; none/);
  // Both charts inline, each with its interactive spec, drawn by the worker's headless Vega.
  for (const chart of ['accuracy', 'loss'])
    assert.match(
      html,
      new RegExp(`<figure class="chart" id="chart-${chart}"[^]*?<svg [^]*?class="chart-spec"`),
    );

  // Determinism: the recorded sweep history replays against today's workflow code.
  const history = await temporal.client.workflow.getHandle(sweepId).fetchHistory();
  await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, sweepId);
});

/**
 * Scheduled retraining end to end, as a user drives it: `simclr schedule create` makes a real Temporal
 * Schedule (dev server) whose action is the `retrain` workflow; real workers in this process train a
 * tiny real experiment. The first trigger trains and promotes; the second, with nothing changed, is
 * skipped and says why (in its result and in `schedule describe`); a forced trigger retrains,
 * warm-starting from the first run's checkpoint, with its lineage and the comparison with the first run
 * in its report, and a promotion decision listed by `simclr models`. Every verb answers --json; a bad
 * flag combination is one line and exit 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal as proto } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { findBinary } from '../../infra/binaries';
import type { RunReport } from '../../report/report';
import { reportKeys } from '../../storage/layout';
import type { WorkersHandle } from '../../workers/run-workers';
import type { PromotionDecision, RetrainResult } from '../../contracts';
import { parseJsonOutput, ROOT, runSimclr, type CliResult } from '../helpers/cli';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'retrain-small.yaml');
/** The same with a narrower encoder: no checkpoint of FIXTURE's runs can warm-start it. */
const NARROW = join(ROOT, 'test', 'fixtures', 'retrain-narrow.yaml');
/** Histories of a trained and a skipped retrain run and of a scheduled experiment (with its promotion). */
const RECORDED = join(ROOT, 'test', 'fixtures', 'recorded-retrain-histories.json');
const History = proto.api.history.v1.History;

let temporal: TestWorkflowEnvironment;
let workers: WorkersHandle | undefined;
let home: string;
const savedEnv = { ...process.env };

before(async () => {
  temporal = await startTestTemporal();
  home = mkdtempSync(join(tmpdir(), 'simclr-schedule-'));
  // The workers here and the CLI share the filesystem store under $SIMCLR_HOME.
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

const simclr = (args: string[], timeoutMs = 60_000) =>
  runSimclr(args, { home, address: temporal.address, timeoutMs });

function ok(r: CliResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what}: ${r.stdout}\n${r.stderr}`);
  return parseJsonOutput(r);
}

test('bad flag combinations are one line and exit 2, before any server is asked', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['schedule', 'create', 'x', '--config', FIXTURE, '--cron', '0 3 * * *', '--every', '24h'],
      /either --cron or --every/,
    ],
    [['schedule', 'create', 'x', '--config', FIXTURE], /--cron .* or --every/],
    [
      ['schedule', 'create', 'x', '--config', FIXTURE, '--every', '24h', '--overlap', 'sometimes'],
      /--overlap 'sometimes'/,
    ],
    [['schedule', 'create', 'x', '--config', FIXTURE, '--every', 'daily'], /--every 'daily'/],
    [['schedule', 'trigger', 'x', '--cron', '0 3 * * *'], /schedule trigger does not take --cron/],
    [['schedule', 'update', 'x', '--warm-start', '--no-warm-start'], /--warm-start or --no-warm-start/],
  ];
  for (const [args, message] of cases) {
    // An address nothing listens on: a usage error must not need the server.
    const r = await runSimclr(args, { home, address: '127.0.0.1:1' });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

test('a schedule trains, skips an unchanged second run with the reason, and a forced run warm-starts and is judged for promotion', async () => {
  const created = ok(
    await simclr([
      'schedule',
      'create',
      'nightly',
      '--config',
      FIXTURE,
      '--every',
      '24h',
      '--warm-start',
      '--json',
    ]),
    'create',
  );
  assert.equal(created.schedule, 'nightly');
  assert.equal(created.overlap, 'skip');
  assert.equal(created.when, 'every 24h');
  assert.deepEqual(created.options, { warmStart: true, force: false, promotionTolerancePoints: 0.5 });
  const again = await simclr(['schedule', 'create', 'nightly', '--config', FIXTURE, '--every', '24h']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);

  // First run: trains, and its encoder is the schedule's first model.
  const first = ok(
    await simclr(['schedule', 'trigger', 'nightly', '--wait', '--json'], 300_000),
    'trigger 1',
  );
  const r1 = first.result as RetrainResult;
  assert.equal(r1.status, 'completed', JSON.stringify(r1));
  assert.match(r1.reason, /first run/);
  assert.equal(r1.lineage.parentRun, undefined);
  assert.match(r1.lineage.codeVersion, /^git:[0-9a-f]{40}/);
  assert.equal(r1.promotion?.promoted, true);
  const firstId = r1.experimentId!;
  assert.match(firstId, /^nightly-\d{8}-\d{6}$/);
  // In the web UI the scheduled experiment carries what a CLI-started one does, and its lineage.
  const memo = (await temporal.client.workflow.getHandle(firstId).describe()).memo ?? {};
  assert.deepEqual(Object.keys(memo).sort(), ['config', 'dataset', 'lineage']);
  assert.equal((memo.lineage as { schedule: string }).schedule, 'nightly');
  assert.equal((memo.config as { encoder: string }).encoder, 'resnet-mini');

  // Second run, nothing changed: skipped, saying why.
  const second = ok(
    await simclr(['schedule', 'trigger', 'nightly', '--wait', '--json'], 120_000),
    'trigger 2',
  );
  const r2 = second.result as RetrainResult;
  assert.equal(r2.status, 'skipped');
  assert.match(r2.reason, new RegExp(`unchanged since the last successful run ${firstId}`));
  assert.equal(r2.experimentId, undefined);
  // The web UI shows why: the skipped run's current details (the SDK's metadata query, which the UI reads).
  const metadata = await temporal.client.workflow
    .getHandle(String(second.workflowId))
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  assert.match(
    metadata.currentDetails ?? '',
    /\*\*nightly\*\* — skipped: dataset \w+ and config \w+ are unchanged/,
  );

  // Forced: retrains, warm-starting from the first run's checkpoint, compared with it and judged.
  const third = ok(
    await simclr(['schedule', 'trigger', 'nightly', '--force', '--wait', '--json'], 300_000),
    'trigger 3',
  );
  const r3 = third.result as RetrainResult;
  assert.equal(r3.status, 'completed', JSON.stringify(r3));
  assert.equal(r3.lineage.trigger, 'manual');
  assert.equal(r3.lineage.parentRun, firstId);
  assert.match(r3.lineage.warmStartFrom ?? '', new RegExp(`^experiments/${firstId}/checkpoints/step-`));
  assert.equal(r3.lineage.datasetId, r1.lineage.datasetId);
  assert.equal(r3.lineage.configHash, r1.lineage.configHash);
  const promotion = r3.promotion!;
  assert.equal(promotion.previous?.experimentId, firstId);
  assert.equal(promotion.promoted, promotion.deltaPoints! >= -0.5, promotion.reason);

  // The report of the forced run: its lineage, the comparison with the first run, the promotion.
  const store = join(home, 'store');
  const report = JSON.parse(
    readFileSync(join(store, reportKeys(r3.experimentId!).reportJson), 'utf8'),
  ) as RunReport;
  assert.equal(report.lineage?.parentRun, firstId);
  const linear = report.lineage?.comparison?.find((c) => c.metric === 'linear evaluation top-1');
  assert.ok(linear, JSON.stringify(report.lineage));
  assert.equal(linear.parent, r1.linearTop1);
  assert.equal(
    linear.verdict,
    linear.deltaPoints > 0.005 ? 'better' : linear.deltaPoints < -0.005 ? 'worse' : 'same',
  );
  assert.equal(report.lineage?.promotion?.promoted, promotion.promoted);
  const html = readFileSync(join(store, reportKeys(r3.experimentId!).reportHtml), 'utf8');
  assert.match(html, /<h2>Lineage<\/h2>/);
  assert.match(html, new RegExp(`Previous run \\(${firstId}\\)`));

  // describe: the skipped run with its reason; models: both decisions; list: the lineage.
  const described = ok(await simclr(['schedule', 'describe', 'nightly', '--json']), 'describe');
  const runs = described.runs as { outcome: string; reason: string }[];
  assert.equal(runs.length, 3);
  assert.ok(
    runs.some((r) => r.outcome === 'skipped' && /unchanged/.test(r.reason)),
    JSON.stringify(runs),
  );
  // `models` reads the store, not Temporal.
  const models = ok(await runSimclr(['models', 'nightly', '--json'], { home }), 'models');
  const decisions = models.promotions as PromotionDecision[];
  assert.deepEqual(
    decisions.map((d) => d.experimentId),
    [firstId, r3.experimentId],
  );
  assert.equal(
    (models.current as { experimentId: string }).experimentId,
    promotion.promoted ? r3.experimentId : firstId,
  );
  const listed = ok(await simclr(['list', '--json']), 'list');
  const rows = listed.experiments as {
    id: string;
    schedule: string | null;
    lineage: { parentRun?: string } | null;
  }[];
  const row = rows.find((r) => r.id === r3.experimentId);
  assert.equal(row?.schedule, 'nightly');
  assert.equal(row?.lineage?.parentRun, firstId);
  const human = await simclr(['list']);
  assert.match(human.stdout, /SCHEDULE\s+PARENT/);

  // Determinism: the retrain runs (trained, skipped) and the scheduled experiment replay against today's code;
  // SIMCLR_RECORD_HISTORY=1 keeps them as the fixture the next test replays after later changes.
  const recorded = [
    { workflowId: String(first.workflowId), history: await historyOf(String(first.workflowId)) },
    { workflowId: String(second.workflowId), history: await historyOf(String(second.workflowId)) },
    { workflowId: r3.experimentId!, history: await historyOf(r3.experimentId!) },
  ];
  for (const { workflowId, history } of recorded)
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowId);
  if (process.env.SIMCLR_RECORD_HISTORY) {
    const json = recorded.map((r) => ({
      workflowId: r.workflowId,
      history: Buffer.from(History.encode(r.history).finish()).toString('base64'),
    }));
    writeFileSync(RECORDED, JSON.stringify(json, null, 2) + '\n'); // prettier's layout
  }

  // A new architecture: the config changed, so it trains, but no checkpoint fits it: no warm start, and why.
  ok(await simclr(['schedule', 'update', 'nightly', '--config', NARROW, '--json']), 'update config');
  const fourth = ok(
    await simclr(['schedule', 'trigger', 'nightly', '--wait', '--json'], 300_000),
    'trigger 4',
  );
  const r4 = fourth.result as RetrainResult;
  assert.equal(r4.status, 'completed', JSON.stringify(r4));
  assert.equal(r4.lineage.parentRun, r3.experimentId);
  assert.equal(r4.lineage.warmStartFrom, undefined);
  assert.match(
    r4.reason,
    /config changed .* no warm start: the architecture changed since .*model\.widthMultiplier: 1 → 0\.5/,
  );

  // The other verbs, each with one JSON document.
  assert.equal(
    ok(await simclr(['schedule', 'pause', 'nightly', '--note', 'maintenance', '--json']), 'pause').paused,
    true,
  );
  assert.equal(ok(await simclr(['schedule', 'describe', 'nightly', '--json']), 'describe').paused, true);
  assert.equal(ok(await simclr(['schedule', 'unpause', 'nightly', '--json']), 'unpause').paused, false);
  const updated = ok(
    await simclr([
      'schedule',
      'update',
      'nightly',
      '--cron',
      '0 3 * * *',
      '--no-warm-start',
      '--overlap',
      'buffer-one',
      '--tolerance',
      '1',
      '--json',
    ]),
    'update',
  );
  assert.equal(updated.overlap, 'buffer-one');
  assert.deepEqual(updated.options, { warmStart: false, force: false, promotionTolerancePoints: 1 });
  assert.equal(updated.when, 'cron "0 3 * * *"');
  const listedSchedules = ok(await simclr(['schedule', 'list', '--json']), 'schedule list');
  assert.deepEqual(
    (listedSchedules.schedules as { schedule: string }[]).map((s) => s.schedule),
    ['nightly'],
  );
  // A backfill of a window without a 03:00 in it starts nothing, and says what it asked.
  const backfill = ok(
    await simclr([
      'schedule',
      'backfill',
      'nightly',
      '--from',
      '2026-01-01T04:00:00Z',
      '--to',
      '2026-01-01T05:00:00Z',
      '--json',
    ]),
    'backfill',
  );
  assert.equal(backfill.from, '2026-01-01T04:00:00.000Z');
  assert.equal(ok(await simclr(['schedule', 'delete', 'nightly', '--json']), 'delete').deleted, true);
  const gone = await simclr(['schedule', 'describe', 'nightly', '--json']);
  assert.equal(gone.code, 1);
  assert.match(JSON.parse(gone.stdout).error, /no schedule named 'nightly'/);
});

test('a Temporal without the SimclrSchedule search attribute: create says how to register it, in one line', async () => {
  const path = findBinary('temporal');
  const bare = await TestWorkflowEnvironment.createLocal({
    server: {
      ...(path ? { executable: { type: 'existing-path' as const, path } } : {}),
      ip: '127.0.0.1',
      extraArgs: ['--log-level', 'error'],
    },
  });
  try {
    const r = await runSimclr(['schedule', 'create', 'nightly', '--config', FIXTURE, '--every', '24h'], {
      home,
      address: bare.address,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^simclr: .*SimclrSchedule.*register it: temporal operator search-attribute create --name SimclrSchedule --type Keyword/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  } finally {
    await bare.teardown();
  }
});

const historyOf = (workflowId: string) => temporal.client.workflow.getHandle(workflowId).fetchHistory();

test(
  'recorded retrain histories replay against the current workflow code',
  { skip: !existsSync(RECORDED) },
  async () => {
    const recorded = JSON.parse(readFileSync(RECORDED, 'utf8')) as { workflowId: string; history: string }[];
    assert.equal(recorded.length, 3);
    for (const { workflowId, history } of recorded) {
      await Worker.runReplayHistory(
        { workflowsPath: require.resolve('../../workflows') },
        History.decode(Buffer.from(history, 'base64')),
        workflowId,
      );
    }
  },
);

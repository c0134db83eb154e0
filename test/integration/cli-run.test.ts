/**
 * The `simclr` command end to end, as a user drives it: `run --embedded --json` on the filesystem
 * store (the embedded default), then a run that is cancelled mid-pretraining and resumed from its
 * checkpoint to a model that still learns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkersHandle } from '../../workers/run-workers';
import { progressQuery } from '../../workflows/experiment';
import type { ExperimentProgress, ExperimentResults, PretrainHeartbeat } from '../../contracts';
import { parseJsonOutput, ROOT, runSimclr } from '../helpers/cli';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';

let temporal: TestWorkflowEnvironment;
let home: string;
const savedEnv = { ...process.env };

before(async () => {
  temporal = await startTestTemporal();
  home = mkdtempSync(join(tmpdir(), 'simclr-run-'));
});

after(async () => {
  await temporal?.teardown();
  rmSync(home, { recursive: true, force: true });
  process.env = savedEnv;
});

const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name);

test('run --embedded --json trains on the filesystem store and prints one JSON document with the results', async () => {
  const r = await runSimclr(
    ['run', fixture('e2e-small.yaml'), '--embedded', '--json', '--id', 'cli-embedded'],
    {
      home,
      address: temporal.address,
      timeoutMs: 300_000,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const doc = parseJsonOutput(r) as {
    status: string;
    results: ExperimentResults;
    report: string;
    webUiUrl: string | null;
  };
  assert.equal(doc.status, 'COMPLETED');
  const { pretrained, baseline, baselines } = doc.results;
  assert.ok(
    baseline && pretrained.linear.top1 > baseline.linear.top1 + 0.05,
    `linear ${pretrained.linear.top1} vs ${baseline?.linear.top1}`,
  );
  // Every baseline is in the results, and the supervised upper bound learned (chance is 10 %).
  assert.ok(baselines?.pixels && baselines.supervised && baselines.scratchFineTune?.length === 1);
  assert.ok(baselines.supervised.top1 > 0.35, `supervised top-1 ${baselines.supervised.top1}`);
  // The embedded default store is the filesystem under $SIMCLR_HOME/store, and the report is there.
  assert.match(doc.report, /^file:\/\//);
  assert.ok(existsSync(new URL(doc.report)), `report at ${doc.report}`);
  assert.ok(existsSync(join(home, 'store', 'experiments', 'cli-embedded', 'report.json')));

  for (const args of [['status', 'cli-embedded'], ['report', 'cli-embedded'], ['list']]) {
    const s = await runSimclr([...args, '--json'], { home, address: temporal.address });
    assert.equal(s.code, 0, `${args.join(' ')}: ${s.stderr}`);
    parseJsonOutput(s);
  }
});

test('cancel stops pretraining at a step boundary with a checkpoint; resume continues from it and still learns', async () => {
  const store = join(home, 'store-resume');
  process.env.SIMCLR_STORE = `file://${store}`;
  const workers: WorkersHandle = await startTestWorkers(temporal);
  const env = { SIMCLR_STORE: `file://${store}` };
  try {
    const id = 'cli-resume';
    const started = await runSimclr(['run', fixture('e2e-resume.yaml'), '--detach', '--json', '--id', id], {
      home,
      env,
      address: temporal.address,
    });
    assert.equal(started.code, 0, started.stderr);

    // Wait until pretraining is past its first checkpoints (the heartbeat carries the step).
    const child = temporal.client.workflow.getHandle(`${id}/pretrain`);
    let beat: PretrainHeartbeat | undefined;
    for (let i = 0; i < 600 && !(beat && beat.step >= 10); i++) {
      await new Promise((r) => setTimeout(r, 250));
      const d = await child.describe().catch(() => undefined);
      const payload = d?.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
      beat = payload ? defaultPayloadConverter.fromPayload<PretrainHeartbeat>(payload) : beat;
    }
    assert.ok(beat && beat.step >= 10, 'pretraining reached step 10');

    const cancelled = await runSimclr(['cancel', id, '--json'], { home, env, address: temporal.address });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    const status = await waitClosed(id);
    assert.equal(status, 'CANCELLED');
    const checkpoints = readdirSync(join(store, 'experiments', id, 'checkpoints')).filter((n) =>
      n.startsWith('step-'),
    );
    const lastStep = Math.max(...checkpoints.map((n) => Number(n.slice(5))));
    assert.ok(
      lastStep >= 10 && lastStep < 48,
      `a mid-run checkpoint exists (steps: ${checkpoints.join(', ')})`,
    );

    const resumed = await runSimclr(['resume', id, '--json'], {
      home,
      env,
      address: temporal.address,
      timeoutMs: 300_000,
    });
    assert.equal(resumed.code, 0, resumed.stderr);
    const doc = parseJsonOutput(resumed) as { status: string; results: ExperimentResults };
    assert.equal(doc.status, 'COMPLETED');
    const progress: ExperimentProgress = await temporal.client.workflow.getHandle(id).query(progressQuery);
    assert.equal(
      progress.resumedFrom,
      `experiments/${id}/checkpoints/step-${String(lastStep).padStart(8, '0')}`,
    );
    assert.equal(progress.epoch, 6);
    const { pretrained, baseline, baselines } = doc.results;
    assert.ok(
      baseline && pretrained.linear.top1 > baseline.linear.top1 + 0.05,
      `linear ${pretrained.linear.top1} vs ${baseline?.linear.top1}`,
    );
    // e2e-resume.yaml switches the two training baselines off; the raw pixels still ran.
    assert.ok(baselines?.pixels, 'raw-pixel baseline');
    assert.equal(baselines.supervised, undefined);
    assert.equal(baselines.scratchFineTune, undefined);
  } finally {
    await workers.shutdown();
  }
});

async function waitClosed(id: string): Promise<string> {
  for (let i = 0; i < 240; i++) {
    const d = await temporal.client.workflow.getHandle(id).describe();
    if (d.status.name !== 'RUNNING') return d.status.name;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${id} did not close`);
}

/**
 * The Temporal web UI as a user sees it, in a real headless Chromium (Debian's /usr/bin/chromium driven
 * by playwright-core): a real experiment started by the real `simclr run --detach`, trained by real
 * workers against a real dev server with its UI on a free port, found by filtering on Simclr search
 * attributes; its page shows the current details (epoch, loss), the memo (config summary, dataset) and
 * activity summaries in the event history. A run carrying SimclrSchedule and a lineage memo (as a
 * schedule starts it) is found by its schedule and shows its lineage. Screenshots go to
 * .artifacts/web-ui/ (git-ignored) for a person to look at.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../infra/ports';
import { temporalTarget } from '../../infra/temporal-connection';
import { startWorkers, type WorkersHandle } from '../../workers/run-workers';
import { experimentSchema } from '../../config/schema';
import { progressQuery } from '../../workflows/experiment';
import { SA_EXPERIMENT, SA_SCHEDULE, SA_STAGE } from '../../workflows/search-attributes';
import { runSimclr, ROOT } from '../helpers/cli';
import { startTestTemporal } from '../helpers/temporal';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, '.artifacts', 'web-ui');
/** Generous: the machine may be shared with a training run. */
const PROGRESS_TIMEOUT_MS = 10 * 60_000;
const UI_TIMEOUT_MS = 90_000;

let temporal: TestWorkflowEnvironment;
let workers: WorkersHandle | undefined;
let browser: Browser;
let ui: string;
let home: string;
const savedEnv = { ...process.env };

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'simclr-webui-'));
  process.env.SIMCLR_HOME = home;
  delete process.env.SIMCLR_STORE; // the filesystem store under SIMCLR_HOME, as the CLI child uses
  mkdirSync(ARTIFACTS, { recursive: true });
  const uiPort = await freePort();
  temporal = await startTestTemporal({ uiPort });
  ui = `http://127.0.0.1:${uiPort}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await workers?.shutdown();
  await temporal?.teardown();
  rmSync(home, { recursive: true, force: true });
  process.env = savedEnv;
});

/** The text of the page and of its frames (the UI renders markdown details in sandboxed iframes). */
async function pageText(page: Page): Promise<string> {
  const texts = await Promise.all(page.frames().map((f) => f.innerText('body').catch(() => '')));
  return texts.join('\n');
}

/** Reloads `url` until the page's text matches every pattern (the UI fetches after load). */
async function waitForText(page: Page, url: string, patterns: RegExp[], timeoutMs = UI_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  for (;;) {
    await page.goto(url);
    await page.waitForLoadState('networkidle').catch(() => undefined);
    text = await pageText(page);
    if (patterns.every((p) => p.test(text))) return text;
    if (Date.now() > deadline)
      assert.fail(
        `${url} never showed ${patterns.filter((p) => !p.test(text)).join(', ')}; it showed:\n${text}`,
      );
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function listUrl(query: string): string {
  return `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
}

test('the web UI finds a running experiment by its search attributes and shows its progress, memo and activity summaries', async () => {
  const id = `webui-${Date.now()}`;
  const file = join(home, 'webui.yaml');
  writeFileSync(
    file,
    [
      'name: webui',
      'seed: 1',
      'dataset: { source: /usr/share/datasets/fashion-mnist, imageSize: 28, shardSize: 512, maxTrainImages: 512, maxTestImages: 128 }',
      'model: { encoder: resnet-mini }',
      // Many short epochs: the run stays in pretraining while the browser looks; it is cancelled after.
      'pretrain: { epochs: 400, batchSize: 64, warmupEpochs: 1, checkpointEverySteps: 4, knnEveryEpochs: 1, epochsPerRun: 400 }',
      'fineTune: { labelFractions: [0.1], epochs: 1 }',
      'evaluation: { randomInitBaseline: false, baselines: { pixels: false, supervised: false, scratchFineTune: false } }',
    ].join('\n') + '\n',
  );
  const started = await runSimclr(['run', file, '--id', id, '--detach'], {
    home,
    address: temporal.address,
    timeoutMs: 120_000,
  });
  assert.equal(started.code, 0, started.stderr);
  workers = await startWorkers({
    queues: ['cpu', 'gpu'],
    target: temporalTarget({ address: temporal.address }),
  });

  // Wait, by the run's own progress query, until two epochs are done (details refresh per epoch).
  const handle = temporal.client.workflow.getHandle(id);
  const deadline = Date.now() + PROGRESS_TIMEOUT_MS;
  for (;;) {
    const p = await handle.query(progressQuery).catch(() => undefined);
    if (p && p.stage === 'pretrain' && p.epoch >= 2 && p.lastLoss !== undefined) break;
    assert.ok(
      Date.now() < deadline,
      `no pretraining progress within ${PROGRESS_TIMEOUT_MS / 1000}s: ${JSON.stringify(p)}`,
    );
    await new Promise((r) => setTimeout(r, 2000));
  }
  const { runId } = await handle.describe();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  try {
    // Filter the workflow list by Simclr search attributes: encoder and stage, then dataset id.
    const list = await waitForText(page, listUrl(`SimclrEncoder="resnet-mini" AND SimclrStage="pretrain"`), [
      new RegExp(id),
    ]);
    assert.match(list, /Running/);
    await page.screenshot({ path: join(ARTIFACTS, 'list-filtered.png') });

    // Open the run from the list, as a user does, and read its current details.
    await page.getByRole('link', { name: id }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${id}/`));
    const details = await waitForText(
      page,
      `${ui}/namespaces/default/workflows/${id}/${runId}/user-metadata`,
      [
        /stage: pretrain/,
        /epoch \d+[/⁄]400/, // markdown typesets the slash as a fraction slash
        /loss \d+\.\d{4}/,
        /views\/s/,
        /ETA/,
        /SimCLR resnet-mini on \/usr\/share\/datasets\/fashion-mnist/,
      ],
    );
    assert.match(details, /kNN top-1/);
    await page.screenshot({ path: join(ARTIFACTS, 'experiment-details.png'), fullPage: true });

    const memo = await waitForText(page, `${ui}/namespaces/default/workflows/${id}/${runId}/memo`, [
      /"encoder": "resnet-mini"/,
      /"epochs": 40/,
      /"dataset"/,
      /"id": "[0-9a-f]/,
    ]);
    const datasetId = /"id": "([^"]+)"/.exec(memo)![1];
    await page.screenshot({ path: join(ARTIFACTS, 'experiment-memo.png'), fullPage: true });

    const history = await waitForText(page, `${ui}/namespaces/default/workflows/${id}/${runId}/history`, [
      /inspect dataset \/usr\/share\/datasets\/fashion-mnist/,
    ]);
    assert.doesNotMatch(history, /pretrain epoch/, 'pretraining epochs belong to the pretrain loop');
    const loop = await temporal.client.workflow.getHandle(`${id}/pretrain`).describe();
    await waitForText(
      page,
      `${ui}/namespaces/default/workflows/${encodeURIComponent(`${id}/pretrain`)}/${loop.runId}/history`,
      [/pretrain epoch 1\/400/, /augment epoch 1\/400, shard 1\/1/],
    );
    await page.screenshot({ path: join(ARTIFACTS, 'pretrain-history.png'), fullPage: true });

    await waitForText(page, listUrl(`SimclrDatasetId="${datasetId}"`), [new RegExp(id)]);
  } finally {
    await page.close();
    await handle.cancel();
  }
});

test('the web UI finds a scheduled run by SimclrSchedule and shows its lineage memo', async () => {
  // Shaped as a schedule starts a retraining run; parked on a queue no worker polls, so it stays open.
  const id = `nightly-webui-${Date.now()}`;
  const lineage = {
    schedule: 'nightly-webui',
    parentRun: 'nightly-webui-20261128-000000',
    datasetId: 'fmnist-0123abcd',
    configHash: 'c0ffee12',
    codeVersion: '0e27f00',
  };
  const config = experimentSchema.parse({ name: 'nightly-webui', dataset: { source: '/nonexistent' } });
  const run = await temporal.client.workflow.start('experiment', {
    workflowId: id,
    taskQueue: 'simclr-webui-test-parked',
    args: [{ experimentId: id, config }],
    typedSearchAttributes: [
      { key: SA_EXPERIMENT, value: id },
      { key: SA_STAGE, value: 'validate' },
      { key: SA_SCHEDULE, value: lineage.schedule },
    ],
    memo: { lineage },
    staticSummary: `scheduled retraining (${lineage.schedule})`,
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  try {
    const list = await waitForText(page, listUrl(`SimclrSchedule="${lineage.schedule}"`), [new RegExp(id)]);
    assert.doesNotMatch(list, /(?<![\w-])webui-\d+/, 'only the scheduled run matches its schedule');
    await page.getByRole('link', { name: id }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${id}/`));
    await waitForText(page, `${ui}/namespaces/default/workflows/${id}/${run.firstExecutionRunId}/memo`, [
      /"lineage"/,
      new RegExp(`"parentRun": "${lineage.parentRun}"`),
      new RegExp(`"datasetId": "${lineage.datasetId}"`),
      new RegExp(`"configHash": "${lineage.configHash}"`),
      new RegExp(`"codeVersion": "${lineage.codeVersion}"`),
    ]);
    await page.screenshot({ path: join(ARTIFACTS, 'scheduled-run-lineage.png'), fullPage: true });
  } finally {
    await page.close();
    await run.terminate('browser test done');
  }
});

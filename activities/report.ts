/**
 * The report activity [cpu]: gathers the run's data into a RunReport and writes report.json,
 * report.html (with its charts and the representation's maps, neighbours and confusion matrix),
 * metrics.jsonl, and TensorBoard event files and projector files into the store.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readMetrics } from '../report/metrics';
import { compareRuns, type ComparisonRow } from '../report/lineage';
import { parseRunReport, writeReport } from '../report/report';
import type { BlobStore } from '../storage/blob-store';
import { experimentKey, reportKeys } from '../storage/layout';
import { tensorBoardAvailable, writeTensorBoard } from '../report/tensorboard';
import { writeProjector } from '../report/projector';
import { sumPretrainTime } from '../report/time-breakdown';
import { activeBackend } from '../simclr/backend';
import type { WriteReportInput, WriteReportOutput } from '../contracts/report';
import { activityStore, guard, log } from './context';
import { datasetManifest } from './dataset-manifests';
import { reportRepresentation } from './representation';

export type { WriteReportInput, WriteReportOutput } from '../contracts/report';

/** This run's results against those in its parent run's report.json (undefined without one). */
async function parentComparison(
  store: BlobStore,
  input: WriteReportInput,
): Promise<ComparisonRow[] | undefined> {
  const parent = input.lineage?.parentRun;
  if (!parent) return undefined;
  const key = reportKeys(parent).reportJson;
  if (!(await store.exists(key))) {
    log().warn(`no report of the parent run ${parent} in ${store.location}: the lineage has no comparison`);
    return undefined;
  }
  const previous = parseRunReport(JSON.parse((await store.get(key)).toString('utf8')), key);
  if (!previous.results) return undefined;
  const last = input.pretrain[input.pretrain.length - 1];
  return compareRuns(
    {
      linear: input.pretrained.linear,
      knn: input.pretrained.knn,
      fineTune: input.fineTune,
      finalLoss: last?.meanLoss,
    },
    { ...previous.results, finalLoss: previous.pretrain?.finalLoss },
  );
}

export async function writeExperimentReport(input: WriteReportInput): Promise<WriteReportOutput> {
  return guard(async () => {
    const store = await activityStore();
    const now = new Date().toISOString();
    const timings = input.stages.map((s) =>
      s.endedAt ? s : { ...s, endedAt: now, seconds: (Date.parse(now) - Date.parse(s.startedAt)) / 1000 },
    );
    const last = input.pretrain[input.pretrain.length - 1];
    const trainedOn =
      input.pretrain.map((p) => p.backend).find(Boolean) ?? activeBackend()?.name ?? 'unknown';
    const metrics = await readMetrics(store, input.experimentId);
    const representation = await reportRepresentation(store, input);
    const lineage = input.lineage && {
      ...input.lineage,
      promotion: input.promotion,
      comparison: await parentComparison(store, input),
    };
    const keys = await writeReport(
      store,
      input.experimentId,
      {
        experimentId: input.experimentId,
        status: 'completed',
        startedAt: input.stages[0]?.startedAt ?? now,
        finishedAt: now,
        generatedAt: now,
        workflowId: input.workflowId,
        runId: input.runId,
        webUiUrl: input.webUiUrl,
        storeLocation: store.location,
        config: input.config,
        dataset: await datasetManifest(store, input.dataset),
        backend: { name: trainedOn, device: `CPU (${require('node:os').availableParallelism()} cores)` },
        timings,
        pretrain: {
          epochs: input.pretrain.length,
          steps: last?.globalStep ?? 0,
          finalLoss: last?.meanLoss,
          imagesPerSec: input.pretrain.length
            ? input.pretrain.reduce((a, p) => a + p.imagesPerSec, 0) / input.pretrain.length
            : undefined,
          augmentationWaitMs: input.augmentationWaitMs,
          timeBreakdown: sumPretrainTime(input.pretrain),
        },
        results: {
          linear: input.pretrained.linear,
          knn: input.pretrained.knn,
          fineTune: input.fineTune,
          baseline: input.baseline ? { linear: input.baseline.linear, knn: input.baseline.knn } : undefined,
          baselines: input.baselines && {
            pixels: input.baselines.pixels && {
              linear: input.baselines.pixels.linear,
              knn: input.baselines.pixels.knn,
            },
            supervised: input.baselines.supervised,
            scratchFineTune: input.baselines.scratchFineTune,
          },
        },
        lineage,
      },
      metrics,
      { representation: representation?.view },
    );
    // TensorBoard event files and the projector's files, written locally then uploaded under
    // experiments/<id>/tensorboard/ (`tensorboard --logdir` on a copy of it shows both).
    const dir = await mkdtemp(join(tmpdir(), 'simclr-tb-'));
    try {
      if (tensorBoardAvailable()) await writeTensorBoard(dir, metrics);
      else
        log().info('TensorBoard event files skipped: this worker does not run the native tensorflow backend');
      if (representation) await writeProjector(dir, representation.projector);
      for (const f of await readdir(dir, { recursive: true, withFileTypes: true })) {
        if (!f.isFile()) continue;
        const path = join(f.parentPath, f.name);
        await store.put(
          experimentKey(input.experimentId, 'tensorboard', ...relative(dir, path).split('/')),
          await readFile(path),
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return { reportKey: keys.reportJson, reportHtmlKey: keys.reportHtml, storeLocation: store.location };
  });
}

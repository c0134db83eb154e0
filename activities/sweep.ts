/**
 * The sweep's activities [cpu]: which variants an earlier run of the sweep already completed (their
 * experiment's report.json is in the store, for the same config), and the sweep report, built from
 * the children's run reports and loss records.
 */
import { fingerprint } from '../config/fingerprint';
import { experimentSchema } from '../config/schema';
import { reportKeys } from '../storage/layout';
import { readMetrics } from '../report/metrics';
import { parseRunReport, type RunReport } from '../report/report';
import type { LossCurve } from '../report/sweep-charts';
import {
  buildSweepReport,
  writeSweepReport as writeSweepReportFiles,
  type SweepVariantOutcome,
} from '../report/sweep-report';
import type { BlobStore } from '../storage/blob-store';
import type {
  CompletedExperiment,
  FindCompletedInput,
  WriteSweepReportInput,
  WriteSweepReportOutput,
} from '../contracts/sweep';
import { activityStore, guard, heartbeat, log } from './context';

export type {
  CompletedExperiment,
  FindCompletedInput,
  WriteSweepReportInput,
  WriteSweepReportOutput,
} from '../contracts/sweep';

/** The run report of a completed experiment, or undefined (none yet, or not completed). */
async function completedReport(store: BlobStore, experimentId: string): Promise<RunReport | undefined> {
  const key = reportKeys(experimentId).reportJson;
  if (!(await store.exists(key))) return undefined;
  const report = parseRunReport(JSON.parse((await store.get(key)).toString('utf8')), key);
  return report.status === 'completed' && report.results ? report : undefined;
}

/** Defaults filled the same way on both sides, so a config read back from report.json compares equal. */
function configFingerprint(config: unknown): string {
  return fingerprint(experimentSchema.parse(config));
}

/**
 * The experiments that completed with exactly the given config. One whose report is of another config
 * (the sweep file changed under the same id) is not completed for this sweep: the workflow reruns it,
 * and its start then fails, which names the conflict.
 */
export async function findCompletedExperiments(input: FindCompletedInput): Promise<CompletedExperiment[]> {
  return guard(async () => {
    const store = await activityStore();
    const out: CompletedExperiment[] = [];
    for (const { experimentId, config } of input.experiments) {
      const report = await completedReport(store, experimentId);
      if (!report?.results) continue;
      if (configFingerprint(report.config) !== configFingerprint(config)) {
        log().warn(`${experimentId} completed with another config; not reused by this sweep`);
        continue;
      }
      out.push({ experimentId, linearTop1: report.results.linear.top1, knnTop1: report.results.knn.top1 });
    }
    return out;
  });
}

/** Pretraining loss of a child against the epoch (its steps scaled by epochs / total steps). */
async function lossCurve(store: BlobStore, variant: string, run: RunReport): Promise<LossCurve> {
  const records = await readMetrics(store, run.experimentId);
  const steps = run.pretrain?.steps ?? 0;
  const epochs = run.pretrain?.epochs ?? 0;
  const points = records
    .filter(
      (r) =>
        r.stage === 'pretrain' && r.name === 'loss' && r.encoder !== 'random-init' && r.step !== undefined,
    )
    .map((r) => ({ x: steps > 0 ? (r.step! * epochs) / steps : r.step!, y: r.value }))
    .sort((a, b) => a.x - b.x);
  return { variant, points };
}

/** Writes sweeps/<id>/report.html, charts and report.json from the children's run reports. */
export async function writeSweepReport(input: WriteSweepReportInput): Promise<WriteSweepReportOutput> {
  return guard(async () => {
    const store = await activityStore();
    const outcomes: SweepVariantOutcome[] = [];
    const curves: LossCurve[] = [];
    for (const v of input.variants) {
      heartbeat({ variant: v.name });
      const run = await completedReport(store, v.experimentId);
      outcomes.push({ ...v, run });
      if (run) curves.push(await lossCurve(store, v.name, run));
    }
    const report = buildSweepReport(
      {
        sweepId: input.sweepId,
        name: input.name,
        description: input.description,
        source: input.source,
        workflowId: input.workflowId,
        runId: input.runId,
        webUiUrl: input.webUiUrl,
        storeLocation: store.location,
        maxParallel: input.maxParallel,
        expectations: input.expectations,
      },
      outcomes,
    );
    const keys = await writeSweepReportFiles(store, report, curves);
    return {
      reportKey: keys.reportJson,
      reportHtmlKey: keys.reportHtml,
      storeLocation: store.location,
      expectations: report.expectations,
    };
  });
}

/**
 * The activities of scheduled retraining [cpu] (workflows/retrain.ts): whether a run of a schedule
 * trains or is skipped, with its lineage (`planRetrain`); whether its encoder becomes the schedule's
 * current model (`promoteEncoder`); and the record of a completed run the next one starts from
 * (`recordScheduledRun`). Everything they read or write is under models/<schedule>/ (storage/layout.ts).
 */
import { fingerprint } from '../config/fingerprint';
import { resolveExperiment } from '../config/resolve';
import { experimentSchema } from '../config/schema';
import { readCheckpointManifest, warmStartDifferences } from '../simclr/checkpoint';
import { scheduleKeys } from '../storage/layout';
import { readCurrentModel, readScheduledRuns, writeJson } from '../storage/schedule-records';
import type {
  CurrentModel,
  Lineage,
  PlanRetrainInput,
  PromoteEncoderInput,
  PromotionDecision,
  RetrainPlan,
  ScheduledRunRecord,
} from '../contracts/retrain';
import { codeVersion } from './code-version';
import { activityStore, guard, log } from './context';
import { inspectDataset } from './dataset';
import { latestCheckpoint } from './training-state';

/** The config hash of lineage: defaults filled the same way whoever parsed it (see activities/sweep.ts). */
export function configHash(config: unknown): string {
  return fingerprint(experimentSchema.parse(config));
}

/**
 * Skip when the dataset (its fingerprint: the dataset id) and the config hash are those of the
 * schedule's last successful run, unless the schedule or the trigger forces a run. Otherwise train,
 * warm-starting (when the schedule asks) from the newest checkpoint of that run.
 */
export async function planRetrain(input: PlanRetrainInput): Promise<RetrainPlan> {
  return guard(async () => {
    const store = await activityStore();
    const plan = await inspectDataset({ experimentId: input.experimentId, config: input.config });
    const runs = await readScheduledRuns(store, input.schedule);
    const parent = runs[runs.length - 1];
    const lineage: Lineage = {
      schedule: input.schedule,
      trigger: input.trigger,
      parentRun: parent?.experimentId,
      datasetId: plan.datasetId,
      configHash: configHash(input.config),
      codeVersion: codeVersion(),
    };
    const unchanged =
      parent !== undefined &&
      parent.lineage.datasetId === lineage.datasetId &&
      parent.lineage.configHash === lineage.configHash;
    if (unchanged && !input.options.force && input.trigger !== 'manual') {
      return {
        action: 'skip',
        reason:
          `dataset ${lineage.datasetId} and config ${lineage.configHash} are unchanged since the last ` +
          `successful run ${parent.experimentId} (${parent.completedAt}); ` +
          `retrain anyway with 'simclr schedule trigger ${input.schedule} --force'`,
        lineage,
      };
    }
    const why = !parent
      ? 'first run of the schedule'
      : unchanged
        ? `dataset and config unchanged since ${parent.experimentId}, retrained because ${input.trigger === 'manual' ? 'the trigger was forced' : 'the schedule forces every run'}`
        : [
            parent.lineage.datasetId !== lineage.datasetId &&
              `dataset changed (${parent.lineage.datasetId} → ${lineage.datasetId})`,
            parent.lineage.configHash !== lineage.configHash &&
              `config changed (${parent.lineage.configHash} → ${lineage.configHash})`,
          ]
            .filter(Boolean)
            .join(', ') + ` since ${parent.experimentId}`;
    let warm = '';
    if (input.options.warmStart && parent) {
      const latest = await latestCheckpoint(store, parent.experimentId);
      // A new architecture cannot take the old weights: this run starts fresh, and says so.
      const resolved = resolveExperiment(input.config, {
        imageSize: plan.imageSize,
        channels: plan.channels,
      });
      const size = { height: plan.imageSize, width: plan.imageSize, channels: plan.channels };
      const misfit =
        latest &&
        warmStartDifferences((await readCheckpointManifest(store, latest.key)).config, {
          model: resolved.model,
          imageShape: size,
        });
      if (latest && misfit?.length === 0) {
        lineage.warmStartFrom = latest.key;
        warm = `; warm start from ${latest.key}`;
      } else {
        warm = latest
          ? `; no warm start: the architecture changed since ${parent.experimentId} (${misfit!.join(', ')})`
          : `; no warm start: ${parent.experimentId} has no checkpoint left in ${store.location}`;
        log().warn(warm.slice(2));
      }
    }
    return { action: 'train', reason: why + warm, lineage };
  });
}

/**
 * Promotes the run's encoder to the schedule's current model when its linear top-1 is not worse than
 * the current model's by more than the tolerance (percentage points); records the decision either way.
 * The decision is written first and CURRENT.json after it, so a retried call (after a crash between the
 * two) finds the decision, returns it, and completes a promotion CURRENT.json does not show yet.
 */
export async function promoteEncoder(input: PromoteEncoderInput): Promise<PromotionDecision> {
  return guard(async () => {
    const store = await activityStore();
    const keys = scheduleKeys(input.schedule);
    const recordKey = keys.promotion(input.experimentId);
    const current = await readCurrentModel(store, input.schedule);
    if (await store.exists(recordKey)) {
      const decided = JSON.parse((await store.get(recordKey)).toString('utf8')) as PromotionDecision;
      if (decided.promoted && (!current || current.promotedAt < decided.decidedAt))
        await writeJson(store, keys.current, currentModelOf(decided));
      return decided;
    }
    const top1 = (v: number) => `${(v * 100).toFixed(2)} %`;
    const deltaPoints = current ? (input.linearTop1 - current.linearTop1) * 100 : undefined;
    const promoted = deltaPoints === undefined || deltaPoints >= -input.tolerancePoints;
    const signed = (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)} points`;
    const reason = !current
      ? `first model of the schedule (linear top-1 ${top1(input.linearTop1)})`
      : `linear top-1 ${top1(input.linearTop1)} against ${top1(current.linearTop1)} of the current model ` +
        `${current.experimentId} (${signed(deltaPoints!)}, tolerance ${input.tolerancePoints} points)` +
        (promoted ? '' : ': the current model stays');
    const decision: PromotionDecision = {
      schedule: input.schedule,
      experimentId: input.experimentId,
      promoted,
      reason,
      linearTop1: input.linearTop1,
      previous: current,
      deltaPoints,
      tolerancePoints: input.tolerancePoints,
      checkpoint: input.checkpoint,
      decidedAt: new Date().toISOString(),
    };
    await writeJson(store, recordKey, decision);
    if (promoted) await writeJson(store, keys.current, currentModelOf(decision));
    log().info(
      `${input.schedule}: ${input.experimentId} ${promoted ? 'promoted' : 'not promoted'}: ${reason}`,
    );
    return decision;
  });
}

function currentModelOf(d: PromotionDecision): CurrentModel {
  return {
    experimentId: d.experimentId,
    checkpoint: d.checkpoint,
    linearTop1: d.linearTop1,
    promotedAt: d.decidedAt,
  };
}

/** Records a completed run of the schedule: the lineage and results the next run compares with. */
export async function recordScheduledRun(input: ScheduledRunRecord): Promise<void> {
  return guard(async () => {
    const store = await activityStore();
    await writeJson(store, scheduleKeys(input.lineage.schedule).run(input.experimentId), input);
  });
}

/**
 * Type-level checks of the per-queue activity proxies (workflows/activity-proxies.ts), compiled by
 * test/unit/activity-contracts.test.ts (and by `npm run typecheck`). Each `@ts-expect-error` line is a
 * call through the wrong queue's proxy: if it ever compiles, the directive is unused and the check
 * fails (TS2578). Never executed.
 */
import type { cpu, gpu, pretrain } from '../../workflows/activity-proxies';
import type { EvalInput, ExperimentRef, PretrainEpochInput, ShardDatasetInput } from '../../contracts';

export function _wrongQueueCallsDoNotCompile(
  proxies: { cpu: typeof cpu; gpu: typeof gpu; pretrain: typeof pretrain },
  inputs: { epoch: PretrainEpochInput; evalInput: EvalInput; ref: ExperimentRef; shard: ShardDatasetInput },
): void {
  // Right queue: these compile.
  void proxies.pretrain.pretrainEpoch(inputs.epoch);
  void proxies.gpu.evaluateRepresentation(inputs.evalInput);
  void proxies.gpu.supervisedBaseline(inputs.ref);
  void proxies.cpu.shardDataset(inputs.shard);

  // Training runs on the gpu queue, not the cpu one.
  // @ts-expect-error pretrainEpoch is not a cpu activity
  void proxies.cpu.pretrainEpoch(inputs.epoch);
  // @ts-expect-error evaluateRepresentation is not a cpu activity
  void proxies.cpu.evaluateRepresentation(inputs.evalInput);
  // Data work runs on the cpu queue, not the gpu one.
  // @ts-expect-error shardDataset is not a gpu activity
  void proxies.gpu.shardDataset(inputs.shard);
  // @ts-expect-error shardDataset is not a pretraining activity
  void proxies.pretrain.shardDataset(inputs.shard);
  // pretrainEpoch has its own proxy (its timeouts, retries and cancellation), not the evaluation one.
  // @ts-expect-error pretrainEpoch goes through the pretrain proxy
  void proxies.gpu.pretrainEpoch(inputs.epoch);
  // Inputs are typed too.
  // @ts-expect-error shardDataset takes a ShardDatasetInput
  void proxies.cpu.shardDataset(inputs.ref);
}

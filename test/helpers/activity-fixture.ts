/**
 * A dataset and a "pretrained" checkpoint for activity tests, made the way the pipeline makes them:
 * the config's source sharded and committed by the dataset activities into the current store
 * (SIMCLR_STORE), then a few pretraining steps on synthetic views, saved as a checkpoint, so the
 * weights and batch-norm statistics sit off the seed's random init.
 */
import type { ExperimentConfig } from '../../config/schema';
import { resolveExperiment } from '../../config/resolve';
import { activityStore } from '../../activities/context';
import { commitDataset, inspectDataset, shardDataset } from '../../activities/dataset';
import { stepsPerEpoch } from '../../activities/pretrain';
import { newPretrainer, saveCheckpoint } from '../../activities/training-state';
import type { DatasetManifest, ShardResult, Split } from '../../contracts';
import { syntheticViews } from './pretrain';

export async function shardedDatasetWithCheckpoint(
  experimentId: string,
  config: ExperimentConfig,
  steps = 3,
): Promise<{ dataset: DatasetManifest; checkpoint: string }> {
  const plan = await inspectDataset({ experimentId, config });
  const shards: ShardResult[] = [];
  for (const split of ['train', 'test'] as Split[]) {
    for (let shard = 0; shard < plan.splits[split].shards; shard++)
      shards.push(await shardDataset({ config, plan, split, shard }));
  }
  const dataset = await commitDataset({ config, plan, shards });
  const resolved = resolveExperiment(config, { imageSize: dataset.imageSize, channels: dataset.channels });
  const shape = { height: dataset.imageSize, width: dataset.imageSize, channels: dataset.channels };
  const state = newPretrainer(resolved, shape, stepsPerEpoch(config, dataset));
  try {
    for (let s = 0; s < steps; s++) {
      const b = syntheticViews(s, config.pretrain.batchSize, shape);
      await state.pretrainer.step(b.view1, b.view2, b.count);
    }
    return { dataset, checkpoint: await saveCheckpoint(await activityStore(), experimentId, state) };
  } finally {
    state.pretrainer.dispose();
  }
}

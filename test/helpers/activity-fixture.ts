/**
 * A dataset and a "pretrained" checkpoint for activity tests, made the way the pipeline makes them:
 * the config's source sharded and committed by the dataset activities into the current store
 * (SIMCLR_STORE), then a few pretraining steps on synthetic views, saved as a checkpoint, so the
 * weights and batch-norm statistics sit off the seed's random init.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExperimentConfig } from '../../config/schema';
import { parseExperiment } from '../../config/load';
import { generateShapesDataset } from '../../simclr/datasets/synthetic';
import { resolveExperiment } from '../../config/resolve';
import { activityStore } from '../../activities/context';
import { commitDataset, inspectDataset, shardDataset } from '../../activities/dataset';
import { stepsPerEpoch } from '../../activities/pretrain';
import { newPretrainer, saveCheckpoint } from '../../activities/training-state';
import type { DatasetManifest, ShardResult, Split } from '../../contracts';
import { syntheticViews } from './pretrain';

/** The config's source sharded and committed by the dataset activities, as the pipeline does. */
export async function shardedDataset(
  experimentId: string,
  config: ExperimentConfig,
): Promise<DatasetManifest> {
  const plan = await inspectDataset({ experimentId, config });
  const shards: ShardResult[] = [];
  for (const split of ['train', 'test'] as Split[]) {
    for (let shard = 0; shard < plan.splits[split].shards; shard++)
      shards.push(await shardDataset({ config, plan, split, shard }));
  }
  return commitDataset({ config, plan, shards });
}

export async function shardedDatasetWithCheckpoint(
  experimentId: string,
  config: ExperimentConfig,
  steps = 3,
): Promise<{ dataset: DatasetManifest; checkpoint: string }> {
  const dataset = await shardedDataset(experimentId, config);
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

/**
 * The dataset of a pretraining test, sharded and committed by the dataset activities: 200 synthetic
 * shapes of 16 px (test/…/synthetic), 20 test images, in a fresh folder that becomes $SIMCLR_HOME and
 * the filesystem store (SIMCLR_STORE); at batch 32, 6 steps per epoch. The caller restores the env and
 * removes `work` after its tests.
 */
export async function shapesPretrainFixture(
  folderPrefix: string,
  experiment: { name: string; seed: number; pretrain: Record<string, unknown> },
): Promise<{ work: string; config: ExperimentConfig; dataset: DatasetManifest }> {
  const work = mkdtempSync(join(tmpdir(), folderPrefix));
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
  const images = join(work, 'shapes');
  await generateShapesDataset(images, { imagesPerClass: 20, testImagesPerClass: 2, size: 16, seed: 1 });
  const config = parseExperiment(
    {
      name: experiment.name,
      seed: experiment.seed,
      backend: 'tensorflow',
      dataset: { source: images, format: 'folder', imageSize: 16, channels: 1, shardSize: 128 },
      model: { encoder: 'resnet-mini' },
      pretrain: experiment.pretrain,
    },
    `${experiment.name} test`,
  );
  return { work, config, dataset: await shardedDataset(experiment.name, config) };
}

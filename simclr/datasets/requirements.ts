/**
 * What an experiment needs of its data, checked before anything is sharded or trained (by the
 * `inspectDataset` activity), so that a run which cannot finish fails in seconds, once, with a message
 * that names the source and the config field, instead of after pretraining and many retries:
 *
 * - at least one batch of training images (pretrain.batchSize);
 * - labels: every experiment ends with linear evaluation and kNN (and fine-tunes on label fractions),
 *   so an unlabelled folder (images with no class folders) cannot complete one;
 * - a test split that is not empty: evaluation scores on it.
 *
 * The problems found are reported together in one DatasetError (non-retryable).
 *
 * @example
 *   checkDataFitsExperiment(source, config);
 *   // DatasetError: dataset.source: '/data/x' has an empty test split, and evaluation scores on it: ...
 */
import type { ExperimentConfig } from '../../config/schema';
import { DatasetError } from '../../contracts/errors';
import type { DatasetSource } from './source';

/** The facts about a source the check needs (an opened DatasetSource has them all). */
export type SourceFacts = Pick<DatasetSource, 'format' | 'labelled' | 'counts'>;

/** The problems that keep `config` from running to the end on this data (empty when none). */
export function dataProblems(source: SourceFacts, config: ExperimentConfig): string[] {
  const problems: string[] = [];
  const { train, test } = source.counts;
  const batch = config.pretrain.batchSize;
  if (train < batch) {
    problems.push(`has ${train} training images, fewer than one batch (pretrain.batchSize = ${batch})`);
  }
  if (!source.labelled) {
    problems.push(
      'has no labels (no class folders); every experiment ends with linear evaluation and kNN ' +
        '(and fine-tuning on fineTune.labelFractions), which need them: put the images in one folder per class',
    );
  }
  if (test === 0) {
    const hint =
      source.format === 'folder'
        ? 'add images to its test/ folder, or (without train/ and test/ folders) raise dataset.testFraction'
        : 'its test file holds no images';
    problems.push(`has an empty test split, and evaluation scores on it: ${hint}`);
  }
  return problems;
}

/** Throws one DatasetError listing every problem of `dataProblems`, naming the configured source. */
export function checkDataFitsExperiment(source: SourceFacts, config: ExperimentConfig): void {
  const problems = dataProblems(source, config);
  if (problems.length === 0) return;
  const where = `dataset.source: '${config.dataset.source}'`;
  throw new DatasetError(
    problems.length === 1
      ? `${where} ${problems[0]}`
      : `${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  );
}

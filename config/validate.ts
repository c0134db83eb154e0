/**
 * Checks of settings that are each valid alone but cannot work together. They need no knowledge of the
 * data, so the loader runs them (errors then name the file) and resolve.ts runs them again for configs
 * built in code.
 *
 * @example
 *   combinationIssues(cfg); // [] or [{ path: 'pretrain.batchSize', message: 'expected at least 2 …' }]
 */
import type { ConfigIssue } from './errors';
import type { ExperimentConfig, HeadConfig } from './schema';

/** Dense layers the projection head really has: 0 for 'none', 1 for 'linear', `layers` for 'nonlinear'. */
export function headDenseLayers(head: Pick<HeadConfig, 'type' | 'layers'>): number {
  return head.type === 'none' ? 0 : head.type === 'linear' ? 1 : head.layers;
}

/** Every combination problem of `cfg` (empty when it is consistent). */
export function combinationIssues(cfg: ExperimentConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { pretrain, model, fineTune, dataset } = cfg;

  // NT-Xent contrasts each view with the 2N − 2 other views of the batch: N = 1 has no negatives.
  if (pretrain.batchSize < 2) {
    issues.push({
      path: 'pretrain.batchSize',
      message: `expected at least 2 (NT-Xent needs other images in the batch as negatives), found ${pretrain.batchSize}`,
    });
  }
  if (dataset.maxTrainImages !== undefined && dataset.maxTrainImages < pretrain.batchSize) {
    issues.push({
      path: 'dataset.maxTrainImages',
      message: `expected at least pretrain.batchSize (${pretrain.batchSize}) images, or an epoch has no full batch; found ${dataset.maxTrainImages}`,
    });
  }
  if (
    pretrain.warmupEpochs !== undefined &&
    pretrain.warmupEpochs > 0 &&
    pretrain.warmupEpochs >= pretrain.epochs
  ) {
    issues.push({
      path: 'pretrain.warmupEpochs',
      message: `expected fewer than pretrain.epochs (${pretrain.epochs}), or the cosine decay never starts (the paper warms up 10 of 100 epochs); found ${pretrain.warmupEpochs}`,
    });
  }

  const head = model.head;
  if (head.type === 'linear' && head.layers !== 1) {
    issues.push({
      path: 'model.head.layers',
      message: `expected 1 for a 'linear' head (one dense layer; leave it unset), found ${head.layers}`,
    });
  }
  const dense = headDenseLayers(head);
  const maxFrom = Math.max(0, dense - 1);
  if (fineTune.fromHeadLayer > maxFrom) {
    issues.push({
      path: 'fineTune.fromHeadLayer',
      message: `expected at most ${maxFrom} (0 = the encoder output; the '${head.type}' head has ${dense} dense layer${dense === 1 ? '' : 's'}), found ${fineTune.fromHeadLayer}`,
    });
  }

  const seen = new Map<number, number>();
  fineTune.labelFractions.forEach((f, i) => {
    const first = seen.get(f);
    if (first !== undefined) {
      issues.push({
        path: `fineTune.labelFractions[${i}]`,
        message: `expected distinct label fractions, found ${f} again (also at [${first}])`,
      });
    } else {
      seen.set(f, i);
    }
  });
  return issues;
}

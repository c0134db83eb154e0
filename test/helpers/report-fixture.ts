/**
 * A synthetic but realistic run for the report tests: a 10-epoch, 400-step pretraining (noisy decaying
 * loss, warm-up + cosine learning rate, a rising kNN monitor) and a completed run report with a
 * fine-tuning result and the random-init baseline, whose description and file names carry HTML that
 * the report must escape.
 */
import { experimentSchema } from '../../config/schema';
import { metric, type MetricRecord } from '../../report/metrics';
import type { RunReportInput } from '../../report/report';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** A 10-epoch run of 40 steps per epoch: decaying noisy loss, warm-up + cosine lr, rising kNN accuracy. */
export function syntheticMetrics(): MetricRecord[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const out: MetricRecord[] = [];
  for (let step = 0; step < 400; step++) {
    const epoch = Math.floor(step / 40);
    out.push(
      metric('pretrain', 'loss', 4 + 2 * Math.exp(-step / 120) + (rnd() - 0.5) * 0.2, {
        time: at(step),
        epoch,
        step,
      }),
    );
    const lr = step < 40 ? (0.6 * (step + 1)) / 40 : 0.3 * (1 + Math.cos((Math.PI * (step - 40)) / 360));
    out.push(metric('pretrain', 'lr', lr, { time: at(step), epoch, step }));
  }
  for (let epoch = 0; epoch < 10; epoch++) {
    out.push(
      metric('knn', 'knn_top1', 0.4 + 0.35 * (1 - Math.exp(-epoch / 3)), {
        time: at(40 * (epoch + 1)),
        epoch,
      }),
    );
  }
  return out;
}

export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover'];

export function syntheticReport(): RunReportInput {
  return {
    experimentId: 'fmnist-test',
    status: 'completed',
    startedAt: at(0),
    finishedAt: at(3600),
    workflowId: 'experiment-fmnist-test',
    runId: 'run-0001',
    webUiUrl: 'http://localhost:8233/namespaces/default/workflows/experiment-fmnist-test/run-0001/history',
    config: experimentSchema.parse({
      name: 'fmnist-test',
      description: 'pretraining <script>alert("x")</script> & more',
      dataset: { source: '/data/fmnist', imageSize: 28 },
    }),
    dataset: {
      datasetId: 'ds-abc',
      source: '/data/fmnist',
      format: 'idx',
      imageSize: 28,
      channels: 1,
      classNames: CLASSES,
      splits: {
        train: { count: 3000, perClass: [1000, 1000, 1000] },
        test: { count: 300, perClass: [100, 100, 100] },
      },
      labelFractions: [{ fraction: 0.1, count: 300 }],
      skipped: [{ file: 'broken<img>.png', reason: 'corrupt PNG header' }],
    },
    backend: { name: 'tensorflow', requested: 'tensorflow', provider: '@tensorflow/tfjs-node' },
    timings: [
      { stage: 'shard', startedAt: at(0), endedAt: at(40), seconds: 40 },
      { stage: 'pretrain', startedAt: at(40), endedAt: at(3000), seconds: 2960 },
      { stage: 'report', startedAt: at(3590) },
    ],
    pretrain: { epochs: 10, steps: 400, finalLoss: 4.12, imagesPerSec: 512.5, augmentationWaitMs: 1200 },
    results: {
      linear: { top1: 0.8312, top5: 0.9901 },
      knn: { top1: 0.7934, top5: 0.981, k: 20 },
      fineTune: [{ fraction: 0.1, top1: 0.7777, top5: 0.9876, labelledImages: 300 }],
      baseline: { linear: { top1: 0.6543, top5: 0.95 }, knn: { top1: 0.6011, top5: 0.93 } },
    },
  };
}

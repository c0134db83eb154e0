/**
 * Micro-benchmark of one SimCLR pretraining step (forward of both views as one 2N batch through encoder
 * and head, NT-Xent, backward, optimiser update) on the active backend. Not run by the tests.
 *
 *   npx tsx bench/model-step.ts [resnet-mini|resnet18] [batch] [steps] [optimizer]
 *   SIMCLR_NATIVE_OPS=0 npx tsx bench/model-step.ts ...   (plain tfjs batch norm / ReLU gradient, to compare)
 */
import { tf, initBackend } from '../simclr/backend';
import { buildEncoder, representationDim } from '../simclr/resnet';
import { buildProjectionHead } from '../simclr/heads';
import { ntXentLoss } from '../simclr/loss';
import { createOptimizer } from '../simclr/optimizers';
import { PAPER_DEFAULTS as P } from '../config/defaults';
import type { Encoder, OptimizerName } from '../config/schema';

async function main(): Promise<void> {
  // Positional: [encoder] [batch] [steps] [optimizer]; run directly or as `npm run bench -- model ...`.
  const args = process.argv.slice(2).filter((a) => a !== 'model');
  const encoder = (args[0] ?? 'resnet-mini') as Encoder;
  const batch = Number(args[1] ?? 256);
  const steps = Number(args[2] ?? 5);
  const optName = (args[3] ?? 'lars') as OptimizerName;
  const info = await initBackend('tensorflow');
  const inputShape: [number, number, number] = encoder === 'resnet-mini' ? [28, 28, 1] : [32, 32, 3];
  const f = buildEncoder({ encoder, widthMultiplier: 1, stem: 'cifar', inputShape, seed: 1 });
  const repDim = representationDim(encoder, 1);
  const g = buildProjectionHead(
    { type: 'nonlinear', layers: 2, outputDim: 128, batchNorm: true, hiddenDim: repDim, seed: 1 },
    repDim,
  );
  const layerVars = [...f.trainableWeights, ...g.model.trainableWeights];
  const vars = layerVars.map((w) => w.read() as tf.Variable);
  const names = layerVars.map((w) => w.originalName);
  const opt = createOptimizer(optName, {
    momentum: P.pretrain.momentum,
    weightDecay: P.pretrain.weightDecay,
    trustCoefficient: P.pretrain.trustCoefficient,
  });
  const x1 = tf.randomUniform([batch, ...inputShape]);
  const x2 = tf.randomUniform([batch, ...inputShape]);

  const step = (): tf.Scalar =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const h = f.apply(tf.concat([x1, x2], 0), { training: true }) as tf.Tensor2D;
        const z = g.model.apply(h, { training: true }) as tf.Tensor2D;
        const [z1, z2] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
        return ntXentLoss(z1, z2, 0.5);
      }, vars);
      opt.applyGradients(
        vars,
        vars.map((v) => grads[v.name]),
        0.1,
        names,
      );
      return value;
    });

  const before = tf.memory().numTensors;
  const warm = step();
  const warmLoss = (await warm.data())[0];
  warm.dispose();
  const times: number[] = [];
  let loss = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = process.hrtime.bigint();
    const l = step();
    loss = (await l.data())[0];
    l.dispose();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    JSON.stringify({
      backend: info.name,
      encoder,
      inputShape,
      batch,
      optimizer: optName,
      steps,
      medianMs: Math.round(median),
      minMs: Math.round(times[0]),
      imagesPerSec: Math.round((2 * batch * 1000) / median),
      firstLoss: warmLoss,
      lastLoss: loss,
      leakedTensors: tf.memory().numTensors - before - opt.getSlots().length,
    }),
  );
  opt.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

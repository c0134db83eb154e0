import { tf, initBackend } from './simclr/backend';
import { createPretrainer } from './simclr/train';
import { saveCheckpoint } from './simclr/checkpoint';
import { loadPortableModel } from './simclr/portable-model';
import { FsBlobStore } from './storage/fs-store';
import { pretrainerOptions, syntheticViews } from './test/helpers/pretrain';
(async () => {
  await initBackend('tensorflow');
  const shape = { height: 12, width: 12, channels: 1 } as const;
  const p = createPretrainer(pretrainerOptions(shape, 10, { seed: 3, model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { outputDim: 16 } }, pretrain: { batchSize: 8, epochs: 2 } }));
  for (let s = 0; s < 3; s++) { const b = syntheticViews(s, 8, shape); await p.step(b.view1, b.view2, b.count); }
  const store = new FsBlobStore('/tmp/probe-store');
  const key = await saveCheckpoint(store, 'experiments/e1/checkpoints', p);
  const f = await loadPortableModel(store, key + '/encoder');
  console.log(f.layers.map(l => l.getClassName()).filter((v,i,a)=>a.indexOf(v)===i));
  const x = tf.randomUniform([4, 12, 12, 1]);
  const a = p.encoder.predict(x) as tf.Tensor; const b = f.predict(x) as tf.Tensor;
  console.log(a.shape, tf.max(tf.abs(tf.sub(a,b))).dataSync()[0], tf.max(tf.abs(a)).dataSync()[0]);
  const h = await loadPortableModel(store, key + '/head');
  console.log(h.layers.map(l => l.getClassName()));
})();

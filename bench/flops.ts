/**
 * Model FLOPs from layer shapes, the usual convention of MFU reports: a multiply-add is 2 FLOPs, only
 * convolutions, dense layers and matmuls are counted (batch norm, ReLU, adds and pooling are a few
 * per cent and memory-bound), and a training step costs 3× the forward pass (the backward pass
 * computes two products per forward product: the input gradient and the weight gradient).
 *
 *     conv:  MACs = H_out · W_out · C_out · k_h · k_w · C_in / groups
 *     dense: MACs = d_in · d_out
 *
 * @example
 *   const perImage = forwardMacsPerImage(encoder) + forwardMacsPerImage(head);
 *   const stepFlops = 3 * 2 * perImage * 2 * batch; // both views, forward + backward
 */
import type { tf } from '../simclr/backend';

function shapeOf(t: tf.SymbolicTensor | tf.SymbolicTensor[]): (number | null)[] {
  return (Array.isArray(t) ? t[0] : t).shape;
}

/** Multiply-adds of one image's forward pass through `model`'s Conv2D (and the stem's SimclrInputConv) and Dense layers. */
export function forwardMacsPerImage(model: tf.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'Conv2D' || cls === 'SimclrInputConv') {
      const config = layer.getConfig() as { kernelSize: number[]; filters: number; groups?: number };
      const input = shapeOf(layer.input);
      const output = shapeOf(layer.output);
      const [kh, kw] = config.kernelSize;
      macs +=
        (output[1] as number) *
        (output[2] as number) *
        config.filters *
        kh *
        kw *
        ((input[3] as number) / (config.groups ?? 1));
    } else if (cls === 'Dense') {
      const input = shapeOf(layer.input);
      const config = layer.getConfig() as { units: number };
      macs += (input[input.length - 1] as number) * config.units;
    }
  }
  return macs;
}

/** Multiply-adds of NT-Xent's similarity matrix for 2N projections of width d: (2N)² · d. */
export function ntXentMacs(batch: number, projectionDim: number): number {
  return (2 * batch) ** 2 * projectionDim;
}

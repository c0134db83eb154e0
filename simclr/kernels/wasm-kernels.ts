/**
 * Backprop kernels for @tensorflow/tfjs-backend-wasm, registered so that training runs on the portable
 * WASM backend. tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter
 * or DepthwiseConv2dNativeBackpropInput, and its Conv2DBackpropInput is a plain loop (~30× slower than
 * its XNNPACK forward Conv2D on a ResNet layer), so all four are provided here. NHWC, any strides,
 * 'same' / 'valid' / explicit padding; dilation 1 only (tfjs' own conv gradients require it too).
 *
 * - Conv2DBackpropFilter, dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·sh + kh − pt, ow·sw + kw − pl, ci] · dy[n,oh,ow,co]:
 *   im2col then one GEMM, dW = colsᵀ-layout [KH·KW·CI, N·OH·OW] × dy [N·OH·OW, CO], through the
 *   backend's own BatchMatMul (XNNPACK). The patch matrix is written already transposed, because the
 *   wasm BatchMatMul and Transpose are plain loops when asked to transpose. Large batches are split
 *   into chunks of whole images so the patch matrix stays under wasmKernelLimits.maxPatchFloats.
 * - Conv2DBackpropInput, dx = dy ⋆ W as a full correlation: dy is dilated by the stride and padded by
 *   (K − 1 − pad) on each side, then a stride-1 'valid' Conv2D (the backend's XNNPACK kernel) with the
 *   filter flipped in space and its channel axes swapped, W'[kh,kw,co,ci] = W[KH−1−kh, KW−1−kw, ci, co].
 * - The depthwise pair: direct loops (their cost is a small fraction of a dense convolution's).
 *
 * One forward kernel is fixed too: the backend's GatherV2 returns wrong rows, or aborts with "memory
 * access out of bounds", when batchDims > 0 (fine-tuning's random crop, ../evaluate/crop-flip.ts, uses
 * it); such calls are done here with slice copies, batchDims = 0 still goes to the backend's kernel.
 */
import { tf } from '../backend';

type TensorInfo = tf.TensorInfo;
type KernelParams = Parameters<tf.KernelFunc>[0];

/** The parts of tfjs-backend-wasm's BackendWasm used here. */
interface WasmBackend {
  /** A view of the tensor's memory in the WASM heap; invalid after the heap grows (any allocation). */
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  disposeData(dataId: TensorInfo['dataId']): boolean;
}

/**
 * Memory bounds of the kernels: `maxPatchFloats` caps the im2col patch matrix of one chunk of images
 * (2²⁴ floats = 64 MiB; the WASM heap tops out at 4 GiB). Mutable so tests can force the chunked path.
 */
export const wasmKernelLimits = { maxPatchFloats: 1 << 24 };

type Pad =
  'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;

interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  padTop: number;
  padLeft: number;
}

function geometry(
  kernel: string,
  inShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: Pad,
  dimRoundingMode: RoundingMode,
  depthwise: boolean,
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC',
): ConvGeometry {
  if (dataFormat !== 'NHWC')
    throw new Error(`${kernel} on the wasm backend supports dataFormat 'NHWC' only (got '${dataFormat}')`);
  const [dH, dW] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (dH !== 1 || dW !== 1)
    throw new Error(`${kernel} on the wasm backend supports dilation 1 only (got [${dH}, ${dW}])`);
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

function float32Only(kernel: string, ...ts: TensorInfo[]): void {
  for (const t of ts)
    if (t.dtype !== 'float32')
      throw new Error(`${kernel} on the wasm backend supports float32 only (got ${t.dtype})`);
}

/** Calls another wasm kernel (BatchMatMul, Conv2D) directly, as the backend's own kernels do. */
function callWasmKernel(
  name: string,
  inputs: Record<string, TensorInfo>,
  backend: WasmBackend,
  attrs: Record<string, unknown>,
): TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no '${name}' kernel (needed by its backprop kernels)`);
  return config.kernelFunc({
    inputs,
    backend: backend as unknown as tf.KernelBackend,
    attrs: attrs as tf.NamedAttrMap,
  }) as TensorInfo;
}

/**
 * Writes the patch matrix of images [n0, n0 + count) transposed: row (kh·KW + kw)·CI + ci, column
 * (n − n0)·OH·OW + oh·OW + ow holds x[n, oh·sH + kh − padTop, ow·sW + kw − padLeft, ci] (0 outside).
 */
function im2colTransposed(
  x: Float32Array,
  cols: Float32Array,
  g: ConvGeometry,
  n0: number,
  count: number,
): void {
  const positions = g.outH * g.outW;
  const columns = count * positions;
  for (let kh = 0; kh < g.kH; kh++) {
    for (let kw = 0; kw < g.kW; kw++) {
      // Output columns whose input column iw = ow·sW + kw − padLeft lies inside the image.
      const owStart = Math.max(0, Math.ceil((g.padLeft - kw) / g.sW));
      const owEnd = Math.min(g.outW, Math.floor((g.inW - 1 + g.padLeft - kw) / g.sW) + 1);
      for (let ci = 0; ci < g.inC; ci++) {
        const rowBase = ((kh * g.kW + kw) * g.inC + ci) * columns;
        for (let n = 0; n < count; n++) {
          const image = (n0 + n) * g.inH;
          for (let oh = 0; oh < g.outH; oh++) {
            const dst = rowBase + n * positions + oh * g.outW;
            const ih = oh * g.sH + kh - g.padTop;
            if (ih < 0 || ih >= g.inH || owStart >= owEnd) {
              cols.fill(0, dst, dst + g.outW);
              continue;
            }
            if (owStart > 0) cols.fill(0, dst, dst + owStart);
            const stride = g.sW * g.inC;
            let src = ((image + ih) * g.inW + owStart * g.sW + kw - g.padLeft) * g.inC + ci;
            for (let ow = owStart; ow < owEnd; ow++, src += stride) cols[dst + ow] = x[src];
            if (owEnd < g.outW) cols.fill(0, dst + owEnd, dst + g.outW);
          }
        }
      }
    }
  }
}

/** Conv2DBackpropFilter: im2col + one BatchMatMul per chunk of images (see the module comment). */
function conv2dBackpropFilter({ inputs, backend, attrs }: KernelParams): TensorInfo {
  const wasm = backend as unknown as WasmBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  float32Only('Conv2DBackpropFilter', x, dy);
  const g = geometry(
    'Conv2DBackpropFilter',
    x.shape,
    a.filterShape,
    a.strides,
    1,
    a.pad as Pad,
    a.dimRoundingMode,
    false,
    a.dataFormat,
  );
  const rows = g.kH * g.kW * g.inC;
  const positions = g.outH * g.outW;
  const perChunk = Math.max(
    1,
    Math.min(g.batch, Math.floor(wasmKernelLimits.maxPatchFloats / (rows * positions))),
  );
  let sum: Float64Array | undefined;
  for (let n0 = 0; n0 < g.batch; n0 += perChunk) {
    const count = Math.min(perChunk, g.batch - n0);
    const cols = wasm.makeOutput([rows, count * positions], 'float32');
    let dyChunk: TensorInfo = { dataId: dy.dataId, shape: [g.batch * positions, g.outC], dtype: 'float32' };
    if (count < g.batch) {
      dyChunk = wasm.makeOutput([count * positions, g.outC], 'float32');
      const from = n0 * positions * g.outC;
      wasm
        .typedArrayFromHeap(dyChunk)
        .set(wasm.typedArrayFromHeap(dy).subarray(from, from + count * positions * g.outC));
    }
    // Views only after the allocations above (heap growth detaches older views).
    im2colTransposed(wasm.typedArrayFromHeap(x), wasm.typedArrayFromHeap(cols), g, n0, count);
    const product = callWasmKernel('BatchMatMul', { a: cols, b: dyChunk }, wasm, {
      transposeA: false,
      transposeB: false,
    });
    wasm.disposeData(cols.dataId);
    if (dyChunk.dataId !== dy.dataId) wasm.disposeData(dyChunk.dataId);
    if (count === g.batch) return { dataId: product.dataId, shape: [...a.filterShape], dtype: 'float32' };
    const part = wasm.typedArrayFromHeap(product);
    sum ??= new Float64Array(part.length);
    for (let i = 0; i < part.length; i++) sum[i] += part[i];
    wasm.disposeData(product.dataId);
  }
  const out = wasm.makeOutput([...a.filterShape], 'float32');
  wasm.typedArrayFromHeap(out).set(sum as Float64Array);
  return out;
}

/** Conv2DBackpropInput: stride-dilated, padded dy through a stride-1 'valid' Conv2D with W' (module comment). */
function conv2dBackpropInput({ inputs, backend, attrs }: KernelParams): TensorInfo {
  const wasm = backend as unknown as WasmBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  float32Only('Conv2DBackpropInput', dy, filter);
  const g = geometry(
    'Conv2DBackpropInput',
    a.inputShape,
    filter.shape,
    a.strides,
    1,
    a.pad as Pad,
    a.dimRoundingMode,
    false,
    a.dataFormat,
  );
  // dx[ih] = Σ_kh dy[(ih + padTop − kh) / sH] · W[kh]: a correlation of the dilated dy, padded by
  // KH − 1 − padTop in front, with the flipped filter; the padded height IH + KH − 1 gives IH outputs.
  const padH = g.inH + g.kH - 1;
  const padW = g.inW + g.kW - 1;
  const frontH = g.kH - 1 - g.padTop;
  const frontW = g.kW - 1 - g.padLeft;
  const dyPadded = wasm.makeOutput([g.batch, padH, padW, g.outC], 'float32');
  const flipped = wasm.makeOutput([g.kH, g.kW, g.outC, g.inC], 'float32');
  const src = wasm.typedArrayFromHeap(dy);
  const dst = wasm.typedArrayFromHeap(dyPadded);
  dst.fill(0);
  for (let n = 0; n < g.batch; n++) {
    for (let oh = 0; oh < g.outH; oh++) {
      const p = oh * g.sH + frontH;
      if (p < 0 || p >= padH) continue;
      const dstRow = (n * padH + p) * padW;
      const srcRow = (n * g.outH + oh) * g.outW;
      if (g.sW === 1 && frontW >= 0 && frontW + g.outW <= padW) {
        dst.set(src.subarray(srcRow * g.outC, (srcRow + g.outW) * g.outC), (dstRow + frontW) * g.outC);
        continue;
      }
      for (let ow = 0; ow < g.outW; ow++) {
        const q = ow * g.sW + frontW;
        if (q < 0 || q >= padW) continue;
        dst.set(src.subarray((srcRow + ow) * g.outC, (srcRow + ow + 1) * g.outC), (dstRow + q) * g.outC);
      }
    }
  }
  const w = wasm.typedArrayFromHeap(filter);
  const wf = wasm.typedArrayFromHeap(flipped);
  for (let kh = 0; kh < g.kH; kh++) {
    for (let kw = 0; kw < g.kW; kw++) {
      const from = ((g.kH - 1 - kh) * g.kW + (g.kW - 1 - kw)) * g.inC * g.outC;
      const to = (kh * g.kW + kw) * g.outC * g.inC;
      for (let ci = 0; ci < g.inC; ci++) {
        for (let co = 0; co < g.outC; co++) wf[to + co * g.inC + ci] = w[from + ci * g.outC + co];
      }
    }
  }
  const dx = callWasmKernel('Conv2D', { x: dyPadded, filter: flipped }, wasm, {
    strides: [1, 1],
    pad: 'valid',
    dilations: [1, 1],
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
  });
  wasm.disposeData(dyPadded.dataId);
  wasm.disposeData(flipped.dataId);
  return dx;
}

/**
 * Calls `visit(xOffset, dyOffset, filterOffset)` for every (n, oh, ow, kh, kw) whose input pixel lies
 * inside the image: the offsets of x[n, ih, iw, 0], dy[n, oh, ow, 0] and filter[kh, kw, 0, 0].
 */
function forEachDepthwiseTap(
  g: ConvGeometry,
  multiplier: number,
  visit: (xAt: number, dyAt: number, filterAt: number) => void,
): void {
  for (let n = 0; n < g.batch; n++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        const dyAt = ((n * g.outH + oh) * g.outW + ow) * g.outC;
        for (let kh = 0; kh < g.kH; kh++) {
          const ih = oh * g.sH + kh - g.padTop;
          if (ih < 0 || ih >= g.inH) continue;
          for (let kw = 0; kw < g.kW; kw++) {
            const iw = ow * g.sW + kw - g.padLeft;
            if (iw < 0 || iw >= g.inW) continue;
            visit(((n * g.inH + ih) * g.inW + iw) * g.inC, dyAt, (kh * g.kW + kw) * g.inC * multiplier);
          }
        }
      }
    }
  }
}

/** DepthwiseConv2dNativeBackpropFilter: dW[kh,kw,c,m] = Σ x[n,ih,iw,c] · dy[n,oh,ow,c·M + m] (float64 sums). */
function depthwiseBackpropFilter({ inputs, backend, attrs }: KernelParams): TensorInfo {
  const wasm = backend as unknown as WasmBackend;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  float32Only('DepthwiseConv2dNativeBackpropFilter', x, dy);
  const g = geometry(
    'DepthwiseConv2dNativeBackpropFilter',
    x.shape,
    a.filterShape,
    a.strides,
    a.dilations,
    a.pad as Pad,
    a.dimRoundingMode,
    true,
  );
  const multiplier = a.filterShape[3];
  const sum = new Float64Array(g.kH * g.kW * g.inC * multiplier);
  const xv = wasm.typedArrayFromHeap(x);
  const dyv = wasm.typedArrayFromHeap(dy);
  forEachDepthwiseTap(g, multiplier, (xAt, dyAt, filterAt) => {
    for (let c = 0; c < g.inC; c++) {
      const xval = xv[xAt + c];
      for (let m = 0; m < multiplier; m++)
        sum[filterAt + c * multiplier + m] += xval * dyv[dyAt + c * multiplier + m];
    }
  });
  const out = wasm.makeOutput([...a.filterShape], 'float32');
  wasm.typedArrayFromHeap(out).set(sum);
  return out;
}

/** DepthwiseConv2dNativeBackpropInput: dx[n,ih,iw,c] = Σ dy[n,oh,ow,c·M + m] · W[kh,kw,c,m]. */
function depthwiseBackpropInput({ inputs, backend, attrs }: KernelParams): TensorInfo {
  const wasm = backend as unknown as WasmBackend;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  float32Only('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const g = geometry(
    'DepthwiseConv2dNativeBackpropInput',
    a.inputShape,
    filter.shape,
    a.strides,
    a.dilations,
    a.pad as Pad,
    a.dimRoundingMode,
    true,
  );
  const multiplier = filter.shape[3];
  const sum = new Float64Array(g.batch * g.inH * g.inW * g.inC);
  const dyv = wasm.typedArrayFromHeap(dy);
  const w = wasm.typedArrayFromHeap(filter);
  forEachDepthwiseTap(g, multiplier, (xAt, dyAt, filterAt) => {
    for (let c = 0; c < g.inC; c++) {
      let acc = 0;
      for (let m = 0; m < multiplier; m++)
        acc += dyv[dyAt + c * multiplier + m] * w[filterAt + c * multiplier + m];
      sum[xAt + c] += acc;
    }
  });
  const out = wasm.makeOutput([...a.inputShape], 'float32');
  wasm.typedArrayFromHeap(out).set(sum);
  return out;
}

/** The backend's own GatherV2, kept for batchDims = 0 (set when the replacement is registered). */
let wasmGatherV2: tf.KernelFunc | undefined;

/**
 * GatherV2 with batch dimensions: out[b, o, i, s] = x[b, o, indices[b, i], s] over x seen as
 * [batch, outer, axis size, slice] (tfjs' own shape bookkeeping, collectGatherOpShapeInfo).
 */
function gatherV2({ inputs, backend, attrs }: KernelParams): TensorInfo | TensorInfo[] {
  const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
  if (!batchDims) {
    if (!wasmGatherV2)
      throw new Error("the wasm backend's GatherV2 kernel was not found when the replacement was registered");
    return wasmGatherV2({ inputs, backend, attrs });
  }
  const wasm = backend as unknown as WasmBackend;
  const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
  if (x.dtype === 'string' || x.dtype === 'complex64')
    throw new Error(`GatherV2 on the wasm backend does not support ${x.dtype} with batchDims > 0`);
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims);
  const perBatch = tf.util.sizeFromShape(indices.shape) / info.batchSize;
  const out = wasm.makeOutput(info.outputShape, x.dtype);
  const xv = wasm.typedArrayFromHeap(x);
  const iv = wasm.typedArrayFromHeap(indices);
  const ov = wasm.typedArrayFromHeap(out);
  const slice = info.sliceSize;
  for (let b = 0; b < info.batchSize; b++) {
    for (let o = 0; o < info.outerSize; o++) {
      for (let i = 0; i < perBatch; i++) {
        const index = iv[b * perBatch + i];
        if (!(index >= 0 && index < info.dimSize)) {
          wasm.disposeData(out.dataId);
          throw new Error(`GatherV2: the index value ${index} is not in [0, ${info.dimSize - 1}]`);
        }
        const src = ((b * info.outerSize + o) * info.dimSize + index) * slice;
        ov.set(xv.subarray(src, src + slice), ((b * info.outerSize + o) * perBatch + i) * slice);
      }
    }
  }
  return out;
}

/** The kernels registered for the wasm backend, by tfjs kernel name. */
const KERNELS: Record<string, tf.KernelFunc> = {
  GatherV2: gatherV2,
  Conv2DBackpropFilter: conv2dBackpropFilter,
  Conv2DBackpropInput: conv2dBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
};

/** Names of the kernels registered (or replaced: Conv2DBackpropInput, GatherV2) by registerWasmBackpropKernels. */
export const WASM_BACKPROP_KERNELS = Object.keys(KERNELS);

/**
 * Registers the kernels above for the 'wasm' backend (idempotent). Replaces the backend's own
 * Conv2DBackpropInput, which is correct but a plain loop, and wraps its GatherV2 (see the module comment).
 */
export function registerWasmBackpropKernels(): void {
  for (const [kernelName, kernelFunc] of Object.entries(KERNELS)) {
    const existing = tf.getKernel(kernelName, 'wasm');
    if (existing?.kernelFunc === kernelFunc) continue;
    if (kernelName === 'GatherV2') wasmGatherV2 = existing?.kernelFunc;
    if (existing) tf.unregisterKernel(kernelName, 'wasm');
    // A wrapped kernel keeps the original's setupFunc: the backend runs it when it initialises.
    const setupFunc = kernelName === 'GatherV2' ? existing?.setupFunc : undefined;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc, setupFunc });
  }
}

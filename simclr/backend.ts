/**
 * The one place that chooses and loads the TensorFlow.js backend. Everything in simclr/ imports `tf`
 * from here, so the engine that holds variables is the same one the chosen backend registered on.
 *
 * - `tensorflow`: native libtensorflow through @tensorflow/tfjs-node (built by infra/setup-tensorflow.sh).
 * - `tensorflow-gpu`: the same through @tensorflow/tfjs-node-gpu (GPU workers; CUDA from the wheel).
 * - `wasm`: @tensorflow/tfjs-backend-wasm, the portable fallback.
 * - `cpu`: pure JavaScript; far too slow to train, so it is only used when asked for by name.
 * `auto` picks tensorflow, else wasm, and never silently falls back to `cpu`.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'tensorflow-gpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendChoice;
  /** The name of the tfjs backend that now runs (`tensorflow`, `wasm`, `cpu`). */
  name: string;
  /** Which package provides it, for the report. */
  provider: string;
  /** Why another choice was not taken, when `auto` had to fall back. */
  fallbackReason?: string;
}

let active: BackendInfo | undefined;

function loadNative(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): void {
  // Quiet TensorFlow's C++ INFO logs unless the user asked for them.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  require(pkg);
}

async function loadWasm(): Promise<void> {
  require('@tensorflow/tfjs-backend-wasm');
  const { registerWasmBackpropKernels } = require('./wasm-kernels') as typeof import('./wasm-kernels');
  registerWasmBackpropKernels();
}

/**
 * Loads and activates a backend (once per process; later calls return the active one and fail if
 * a different explicit backend is requested).
 */
export async function initBackend(requested: BackendChoice = 'auto', log: (line: string) => void = () => {}): Promise<BackendInfo> {
  if (active) {
    if (requested !== 'auto' && requested !== active.requested && !(requested === 'tensorflow' && active.name === 'tensorflow')) {
      throw new Error(`backend '${active.name}' is already active in this process; cannot switch to '${requested}'`);
    }
    return active;
  }
  let info: BackendInfo;
  switch (requested) {
    case 'tensorflow':
      loadNative('@tensorflow/tfjs-node');
      info = { requested, name: 'tensorflow', provider: '@tensorflow/tfjs-node (libtensorflow from the tensorflow-cpu wheel)' };
      break;
    case 'tensorflow-gpu':
      loadNative('@tensorflow/tfjs-node-gpu');
      info = { requested, name: 'tensorflow', provider: '@tensorflow/tfjs-node-gpu (libtensorflow from the tensorflow wheel)' };
      break;
    case 'wasm':
      await loadWasm();
      info = { requested, name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm' };
      break;
    case 'cpu':
      info = { requested, name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu (pure JavaScript, slow)' };
      break;
    case 'auto': {
      try {
        loadNative('@tensorflow/tfjs-node');
        info = { requested, name: 'tensorflow', provider: '@tensorflow/tfjs-node (libtensorflow from the tensorflow-cpu wheel)' };
      } catch (err) {
        await loadWasm();
        info = {
          requested,
          name: 'wasm',
          provider: '@tensorflow/tfjs-backend-wasm',
          fallbackReason: `native TensorFlow did not load (${(err as Error).message.split('\n')[0]}); run infra/setup-tensorflow.sh`,
        };
      }
      break;
    }
  }
  const ok = await tf.setBackend(info.name);
  if (!ok || tf.getBackend() !== info.name) {
    throw new Error(`TensorFlow.js backend '${info.name}' could not be initialised`);
  }
  await tf.ready();
  active = info;
  log(`backend: ${info.name} via ${info.provider}${info.fallbackReason ? ` — fallback: ${info.fallbackReason}` : ''}`);
  return info;
}

/** The active backend, or undefined before initBackend. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

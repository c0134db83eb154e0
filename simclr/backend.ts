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
import { configureThreads, describeThreads, ThreadConfigError, type ThreadConfig } from './kernels/threads';

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
  /** The native TensorFlow thread pools (./kernels/threads.ts); absent on wasm and cpu. */
  threads?: ThreadConfig;
}

let active: BackendInfo | undefined;

/**
 * Loads a native package, its thread pools configured first: libtensorflow reads them once, as it
 * loads, so this is the one moment they can be set (see ./kernels/threads.ts).
 */
function loadNative(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'): ThreadConfig {
  const threads = configureThreads();
  // Quiet TensorFlow's C++ INFO logs unless the user asked for them.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  require(pkg);
  return threads;
}

/**
 * Loads tfjs-backend-wasm, registers the backprop kernels it lacks (./kernels/wasm-kernels.ts) and
 * starts it. In Node the package finds its .wasm binaries next to its own dist files (Emscripten's
 * __dirname), so no setWasmPaths is needed; setting one would switch it to fetch(), which cannot read
 * local paths.
 * Returns a description of the build that runs (SIMD, threads) for the log and the report.
 */
async function loadWasm(): Promise<string> {
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const { registerWasmBackpropKernels } =
    require('./kernels/wasm-kernels') as typeof import('./kernels/wasm-kernels');
  registerWasmBackpropKernels();
  const beforeException = process.listeners('uncaughtException');
  const beforeRejection = process.listeners('unhandledRejection');
  if (!(await tf.setBackend('wasm')))
    throw new Error("TensorFlow.js backend 'wasm' could not be initialised");
  // Emscripten's Node glue installs handlers that rethrow every uncaught error of the process from
  // inside its own minified source, so Node prints 30 kB of it with each crash; Node's default
  // handling is the same without that.
  for (const l of process.listeners('uncaughtException'))
    if (!beforeException.includes(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection'))
    if (!beforeRejection.includes(l)) process.removeListener('unhandledRejection', l);
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  const threads = wasm.getThreadsCount();
  return `@tensorflow/tfjs-backend-wasm (${simd}, ${threads} thread${threads === 1 ? '' : 's'})`;
}

/**
 * Loads and activates a backend (once per process; later calls return the active one and fail if
 * a different explicit backend is requested).
 */
export async function initBackend(
  requested: BackendChoice = 'auto',
  log: (line: string) => void = () => {},
): Promise<BackendInfo> {
  if (active) {
    if (
      requested !== 'auto' &&
      requested !== active.requested &&
      !(requested === 'tensorflow' && active.name === 'tensorflow')
    ) {
      throw new Error(
        `backend '${active.name}' is already active in this process; cannot switch to '${requested}'`,
      );
    }
    return active;
  }
  let info: BackendInfo;
  switch (requested) {
    case 'tensorflow':
      info = {
        threads: loadNative('@tensorflow/tfjs-node'),
        requested,
        name: 'tensorflow',
        provider: '@tensorflow/tfjs-node (libtensorflow from the tensorflow-cpu wheel)',
      };
      break;
    case 'tensorflow-gpu':
      info = {
        threads: loadNative('@tensorflow/tfjs-node-gpu'),
        requested,
        name: 'tensorflow',
        provider: '@tensorflow/tfjs-node-gpu (libtensorflow from the tensorflow wheel)',
      };
      break;
    case 'wasm':
      info = { requested, name: 'wasm', provider: await loadWasm() };
      break;
    case 'cpu':
      info = { requested, name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu (pure JavaScript, slow)' };
      break;
    case 'auto': {
      try {
        info = {
          threads: loadNative('@tensorflow/tfjs-node'),
          requested,
          name: 'tensorflow',
          provider: '@tensorflow/tfjs-node (libtensorflow from the tensorflow-cpu wheel)',
        };
      } catch (err) {
        if (err instanceof ThreadConfigError) throw err; // the user's setting is wrong, not the build
        info = {
          requested,
          name: 'wasm',
          provider: await loadWasm(),
          fallbackReason:
            `native TensorFlow did not load (${(err as Error).message.split('\n')[0]}); ` +
            'training runs on WASM, many times slower: run infra/setup-tensorflow.sh to build the native backend',
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
  log(describeBackend(info));
  return info;
}

/**
 * The log line of initBackend: which backend runs, from which package, and why, e.g.
 * `backend: tensorflow via @tensorflow/tfjs-node (…) [auto: native TensorFlow loaded]; threads: intra-op 2, …` or
 * `backend: wasm via @tensorflow/tfjs-backend-wasm (SIMD, 1 thread) [auto fallback: native TensorFlow did not load (…); …]`.
 */
export function describeBackend(info: BackendInfo): string {
  const why =
    info.requested !== 'auto'
      ? `requested '${info.requested}'`
      : info.fallbackReason
        ? `auto fallback: ${info.fallbackReason}`
        : 'auto: native TensorFlow loaded';
  const threads = info.threads ? `; ${describeThreads(info.threads)}` : '';
  return `backend: ${info.name} via ${info.provider} [${why}]${threads}`;
}

/** The active backend, or undefined before initBackend. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

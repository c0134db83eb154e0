/**
 * The optimisers of pretraining and fine-tuning, written here rather than taken from tfjs because the
 * learning rate changes every step (warm-up + cosine, ./schedule.ts) and batch-norm parameters and
 * biases must be skipped in weight decay (and in LARS' layer adaptation), decided by variable name.
 *
 * - 'lars' ([SimCLR] Sec. 2.2; You, Gitman, Ginsburg 2017; the reference's lars_optimizer.py):
 *       g ← g + λ·w                                   (not for batch norm / biases)
 *       r  = η·‖w‖ / ‖g‖  if ‖w‖ > 0 and ‖g‖ > 0, else 1   (r = 1 for batch norm / biases)
 *       v ← m·v + lr·r·g
 *       w ← w − v          (Nesterov: w ← w − (m·v + lr·r·g))
 *   with η = trust coefficient (0.001) and m = momentum (0.9).
 * - 'sgd': the same without the trust ratio (r = 1), i.e. heavy-ball momentum in the form of
 *   tf.keras' SGD, with L2 weight decay λ·w added to the gradient of every weight that is not batch
 *   norm or a bias; `nesterov` as in [SimCLR] App. B.5/B.6 for fine-tuning and linear evaluation.
 * - 'adam': Adam (Kingma & Ba 2015, tf.keras defaults β1 = 0.9, β2 = 0.999, ε = 1e-7) with the weight
 *   decay as an L2 term added to the gradient (like the reference's 'adam' option, which adds λ·½‖w‖²
 *   to the loss), not AdamW's decoupled decay; `momentum` is not used.
 *
 * Slots (momentum, Adam moments, Adam's step count) are named after the variables so checkpoints can
 * save and restore them (`getSlots` / `setSlots`). All updates run inside tf.tidy.
 *
 * @example
 *   const opt = createOptimizer('lars', { momentum: 0.9, weightDecay: 1e-6, trustCoefficient: 0.001 });
 *   opt.applyGradients(vars, grads, learningRateAt(step, schedule));
 */
import { tf } from './backend';
import type { OptimizerName } from '../config/schema';

export interface OptimizerOptions {
  /** Momentum m (LARS, SGD); not used by Adam. */
  momentum: number;
  /** Weight decay λ (L2), skipped for batch norm parameters and biases. */
  weightDecay: number;
  /** LARS trust coefficient η; not used by SGD and Adam. */
  trustCoefficient: number;
  /** Nesterov momentum (LARS, SGD). */
  nesterov?: boolean;
}

export interface NamedSlot {
  name: string;
  tensor: tf.Tensor;
}

export interface SimclrOptimizer {
  readonly name: OptimizerName;
  /**
   * One update of `vars` with `grads` (same order and shapes) at `learningRate`. `names` (default: each
   * variable's name) name the slots and decide the batch-norm/bias exclusion; pass the layers' stable
   * `originalName`s when the same model may be built twice in a process.
   */
  applyGradients(vars: tf.Variable[], grads: tf.Tensor[], learningRate: number, names?: string[]): void;
  /** The optimiser's state, named `<variable>/<slot>`. The tensors stay owned by the optimiser. */
  getSlots(): NamedSlot[];
  /** Restores state saved by getSlots (the tensors are copied; the caller keeps its own). */
  setSlots(slots: NamedSlot[]): void;
  dispose(): void;
}

const EXCLUDED_SUFFIXES = ['gamma', 'beta', 'moving_mean', 'moving_variance', 'bias'];

/**
 * Whether a variable is a batch-norm parameter or a bias, which LARS neither decays nor adapts (the
 * reference excludes names containing 'batch_normalization' or 'bias'). Decided by the last path
 * component of the name, ignoring the `_<n>` suffix tfjs adds to repeated names.
 */
export function isExcludedFromAdaptation(variableName: string): boolean {
  const last = variableName.split('/').pop() ?? variableName;
  const base = last.replace(/_\d+$/, '');
  return EXCLUDED_SUFFIXES.includes(base) || /batch_?norm/i.test(variableName);
}

abstract class SlottedOptimizer implements SimclrOptimizer {
  abstract readonly name: OptimizerName;
  protected readonly slots = new Map<string, tf.Variable>();

  constructor(protected readonly opts: OptimizerOptions) {
    for (const key of ['momentum', 'weightDecay', 'trustCoefficient'] as const) {
      if (!Number.isFinite(opts[key]) || opts[key] < 0)
        throw new Error(`optimizer: ${key} must be a finite number >= 0 (got ${opts[key]})`);
    }
    if (opts.momentum >= 1) throw new Error(`optimizer: momentum must be < 1 (got ${opts.momentum})`);
  }

  /** The slot `<name>/<kind>`, created as zeros of `shape` on first use. */
  protected slot(name: string, kind: string, shape: number[]): tf.Variable {
    const key = `${name}/${kind}`;
    let v = this.slots.get(key);
    if (!v) {
      v = tf.variable(tf.zeros(shape), false);
      this.slots.set(key, v);
    } else if (!tf.util.arraysEqual(v.shape, shape)) {
      throw new Error(
        `optimizer: slot '${key}' has shape [${v.shape}] but the variable has shape [${shape}]`,
      );
    }
    return v;
  }

  applyGradients(vars: tf.Variable[], grads: tf.Tensor[], learningRate: number, names?: string[]): void {
    if (vars.length !== grads.length)
      throw new Error(`applyGradients: ${vars.length} variables but ${grads.length} gradients`);
    if (names && names.length !== vars.length)
      throw new Error(`applyGradients: ${vars.length} variables but ${names.length} names`);
    if (!Number.isFinite(learningRate) || learningRate < 0)
      throw new Error(`applyGradients: learning rate must be finite and >= 0 (got ${learningRate})`);
    const keys = names ?? vars.map((v) => v.name);
    const seen = new Set<string>();
    vars.forEach((v, i) => {
      if (!tf.util.arraysEqual(v.shape, grads[i].shape)) {
        throw new Error(
          `applyGradients: gradient of '${keys[i]}' has shape [${grads[i].shape}], the variable [${v.shape}]`,
        );
      }
      if (seen.has(keys[i])) throw new Error(`applyGradients: variable name '${keys[i]}' appears twice`);
      seen.add(keys[i]);
    });
    tf.tidy(() => this.update(vars, grads, learningRate, keys));
  }

  protected abstract update(
    vars: tf.Variable[],
    grads: tf.Tensor[],
    learningRate: number,
    names: string[],
  ): void;

  /** g + λ·w, unless the variable is excluded from weight decay. */
  protected decayed(w: tf.Tensor, g: tf.Tensor, name: string): tf.Tensor {
    if (this.opts.weightDecay === 0 || isExcludedFromAdaptation(name)) return g;
    return tf.add(g, tf.mul(w, this.opts.weightDecay));
  }

  getSlots(): NamedSlot[] {
    return [...this.slots.entries()].map(([name, tensor]) => ({ name, tensor }));
  }

  setSlots(slots: NamedSlot[]): void {
    for (const { name, tensor } of slots) {
      const existing = this.slots.get(name);
      if (existing) {
        if (!tf.util.arraysEqual(existing.shape, tensor.shape)) {
          throw new Error(
            `setSlots: slot '${name}' has shape [${existing.shape}], the saved one [${tensor.shape}]`,
          );
        }
        existing.assign(tensor);
      } else {
        this.slots.set(name, tf.variable(tensor.clone(), false));
      }
    }
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

/**
 * Batch-norm parameters and biases are many small 1-D variables; updating them one by one costs a
 * dozen tiny ops each. They are concatenated, updated once and split back instead.
 */
function concatenated(tensors: tf.Tensor[]): tf.Tensor1D {
  return tf.concat(tensors.map((t) => (t.rank === 1 ? t : tf.reshape(t, [-1]))) as tf.Tensor1D[]);
}

function splitLike(flat: tf.Tensor, like: tf.Tensor[]): tf.Tensor[] {
  return tf
    .split(
      flat,
      like.map((t) => t.size),
    )
    .map((part, i) => (like[i].rank === 1 ? part : tf.reshape(part, like[i].shape)));
}

/** Momentum SGD with an optional LARS trust ratio (see the module comment). */
class MomentumOptimizer extends SlottedOptimizer {
  constructor(
    readonly name: 'lars' | 'sgd',
    opts: OptimizerOptions,
  ) {
    super(opts);
  }

  /** v ← m·v + step, returns the weight delta (v, or m·v + step with Nesterov) and assigns v. */
  private momentumDelta(v: tf.Variable | tf.Tensor, step: tf.Tensor): { nextV: tf.Tensor; delta: tf.Tensor } {
    const { momentum, nesterov } = this.opts;
    const nextV = momentum === 0 ? step : tf.add(tf.mul(v, momentum), step);
    return { nextV, delta: nesterov && momentum !== 0 ? tf.add(tf.mul(nextV, momentum), step) : nextV };
  }

  protected update(vars: tf.Variable[], grads: tf.Tensor[], learningRate: number, names: string[]): void {
    const adapted: number[] = [];
    const excluded: number[] = [];
    names.forEach((n, i) => (isExcludedFromAdaptation(n) ? excluded : adapted).push(i));

    // Excluded (batch norm, biases): no weight decay, no trust ratio; one concatenated update.
    if (excluded.length > 0) {
      const ws = excluded.map((i) => vars[i]);
      const vs = excluded.map((i) => this.slot(names[i], 'momentum', vars[i].shape));
      const step = tf.mul(concatenated(excluded.map((i) => grads[i])), learningRate);
      const { nextV, delta } = this.momentumDelta(concatenated(vs), step);
      const nextW = tf.sub(concatenated(ws), delta);
      splitLike(nextV, vs).forEach((t, k) => vs[k].assign(t));
      splitLike(nextW, ws).forEach((t, k) => ws[k].assign(t));
    }
    if (adapted.length === 0) return;

    // Adapted (kernels): g + λw, then the trust ratios of all variables in a few vector ops.
    const decayed = adapted.map((i) => this.decayed(vars[i], grads[i], names[i]));
    let scaledLr: tf.Tensor[] | undefined;
    if (this.name === 'lars') {
      const wNorm = tf.sqrt(tf.stack(adapted.map((i) => tf.sum(tf.square(vars[i])))));
      const gNorm = tf.sqrt(tf.stack(decayed.map((g) => tf.sum(tf.square(g)))));
      const ratio = tf.where(
        tf.logicalAnd(tf.greater(wNorm, 0), tf.greater(gNorm, 0)),
        tf.div(tf.mul(wNorm, this.opts.trustCoefficient), tf.maximum(gNorm, 1e-30)),
        tf.onesLike(wNorm),
      );
      scaledLr = tf.unstack(tf.mul(ratio, learningRate));
    }
    adapted.forEach((i, k) => {
      const w = vars[i];
      const step = tf.mul(decayed[k], scaledLr ? scaledLr[k] : learningRate);
      const v = this.slot(names[i], 'momentum', w.shape);
      const { nextV, delta } = this.momentumDelta(v, step);
      v.assign(nextV);
      w.assign(tf.sub(w, delta));
    });
  }
}

/** Adam with L2 weight decay in the gradient (see the module comment). */
class AdamOptimizer extends SlottedOptimizer {
  readonly name = 'adam' as const;
  static readonly BETA1 = 0.9;
  static readonly BETA2 = 0.999;
  static readonly EPSILON = 1e-7;

  /** Mirror of the 'adam/iterations' slot, so a step needs no read-back from the device. */
  private iterations = 0;

  override setSlots(slots: NamedSlot[]): void {
    super.setSlots(slots);
    const saved = this.slots.get('adam/iterations');
    if (saved) this.iterations = saved.dataSync()[0];
  }

  protected update(vars: tf.Variable[], grads: tf.Tensor[], learningRate: number, names: string[]): void {
    const { BETA1: b1, BETA2: b2, EPSILON: eps } = AdamOptimizer;
    const t = ++this.iterations;
    this.slot('adam', 'iterations', []).assign(tf.scalar(t));
    const alpha = (learningRate * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    vars.forEach((w, i) => {
      const g = this.decayed(w, grads[i], names[i]);
      const m = this.slot(names[i], 'm', w.shape);
      const v = this.slot(names[i], 'v', w.shape);
      const nextM = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
      const nextV = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
      m.assign(nextM);
      v.assign(nextV);
      w.assign(tf.sub(w, tf.mul(tf.div(nextM, tf.add(tf.sqrt(nextV), eps)), alpha)));
    });
  }
}

/** The optimiser `name` with `opts` (values from config/defaults.ts via the experiment config). */
export function createOptimizer(name: OptimizerName, opts: OptimizerOptions): SimclrOptimizer {
  switch (name) {
    case 'lars':
    case 'sgd':
      return new MomentumOptimizer(name, opts);
    case 'adam':
      return new AdamOptimizer(opts);
    default:
      throw new Error(`createOptimizer: unknown optimizer '${String(name)}' (expected lars, sgd or adam)`);
  }
}

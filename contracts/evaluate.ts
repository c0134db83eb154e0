/**
 * What crosses the Temporal boundary for fine-tuning and evaluation [gpu]: which encoder to judge and
 * the accuracies that come back. Plain JSON, no secrets.
 */
import type { ExperimentConfig } from '../config/schema';
import type { DatasetInput } from './dataset';

/** The experiment and dataset an evaluation activity works on. */
export interface ExperimentRef {
  experimentId: string;
  config: ExperimentConfig;
  dataset: DatasetInput;
}

/** Where an encoder's weights come from: a pretrained checkpoint, or the experiment's seed (random init). */
export type EncoderInit =
  { encoder?: 'pretrained'; checkpoint: string } | { encoder: 'random-init'; checkpoint?: undefined };

export interface EvalInput extends ExperimentRef {
  /**
   * What to evaluate. Unset (inputs scheduled before the pixel baseline existed): 'pretrained' when a
   * checkpoint is given, else 'random-init'.
   */
  encoder?: RepresentationSource;
  /** The pretrained checkpoint; required for 'pretrained', ignored otherwise. */
  checkpoint?: string;
}

/**
 * Fine-tuning input: the pretrained checkpoint's encoder (`encoder` unset or 'pretrained'), or the
 * same architecture at random init (`encoder: 'random-init'`, training from scratch on the same labels).
 */
export type FineTuneInput = ExperimentRef & EncoderInit & { fraction: number };

export interface EvaluationResult {
  top1: number;
  top5: number;
}

/**
 * What a representation comes from: the SimCLR encoder ('pretrained'), the same architecture never
 * trained ('random-init'), or no encoder at all, the flattened image ('pixels').
 */
export type RepresentationSource = 'pretrained' | 'random-init' | 'pixels';

export interface RepresentationEval {
  encoder: RepresentationSource;
  linear: EvaluationResult;
  knn: EvaluationResult & { k: number };
  /**
   * The store key of what the report shows of this representation (report/representation-sample.ts):
   * an encoder's test-set sample, neighbours and confusion matrix. Absent for the pixels and in runs
   * that predate it.
   */
  representationKey?: string;
}

export interface FineTuneResult extends EvaluationResult {
  fraction: number;
  labelledImages: number;
}

/** The supervised upper bound: the encoder trained from random init on every training label. */
export interface SupervisedResult extends EvaluationResult {
  epochs: number;
  labelledImages: number;
}

/**
 * The baselines besides the random-init encoder (config `evaluation.baselines`); each is absent when
 * switched off, and the whole object is absent in runs that predate it.
 */
export interface BaselineResults {
  /** Linear evaluation and kNN on the raw pixels. */
  pixels?: RepresentationEval;
  /** The same encoder trained with all labels from random init for pretrain.epochs. */
  supervised?: SupervisedResult;
  /** Training from scratch on each label fraction, with the fine-tuning settings. */
  scratchFineTune?: FineTuneResult[];
}

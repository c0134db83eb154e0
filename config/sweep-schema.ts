/**
 * The sweep file (YAML or JSON), as a zod schema: a base experiment and the settings that vary.
 *
 * ```yaml
 * name: head
 * base: ../fashion-mnist-small.yaml      # an experiment file, relative to this file (or a mapping)
 * maxParallel: 1                         # children at a time (one GPU worker runs one anyway)
 * set: { pretrain.epochs: 10 }           # applied to every variant
 * variants:                              # or `grid`: { augmentation.cropAreaMin: [0.08, 0.2] }
 *   - { name: nonlinear, set: { model.head.type: nonlinear } }
 *   - { name: none, set: { model.head.type: none } }
 * expect:
 *   - { metric: linearTop1, holds: 'nonlinear > none', source: '[SimCLR] Sec. 4.2' }
 * ```
 *
 * Keys of `set` and `grid` are dotted paths into the experiment file; their values are checked by the
 * experiment schema once applied (config/sweep.ts), so a wrong path or value names the variant.
 */
import { z } from 'zod';
import { nameSchema } from './schema';
import { EXPECTATION_METRICS } from './sweep-expectation';

/** Variant names become part of workflow ids and store keys: one key segment, short. */
export const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/;
/** A dotted path into the experiment file: `augmentation.cropAreaMin`, `model.head.type`. */
export const DOTTED_PATH = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/;
/** More children than this is almost certainly a mistake in the grid (a cross product grows fast). */
export const MAX_VARIANTS = 64;

const overrides = z.record(z.string(), z.unknown());

export const sweepVariantSchema = z
  .object({
    name: z.string().regex(VARIANT_NAME, 'letters, digits, ".", "_" and "-" only, at most 48 characters'),
    description: z.string().optional(),
    set: overrides.default({}),
  })
  .strict();

export const expectationSchema = z
  .object({
    metric: z.enum(EXPECTATION_METRICS).default('linearTop1'),
    holds: z.string().min(1),
    source: z.string().optional(),
    /** What may make the small-scale result differ from the paper's (grayscale, few epochs, …). */
    note: z.string().optional(),
  })
  .strict();

export const sweepSchema = z
  .object({
    name: nameSchema,
    description: z.string().optional(),
    /** An experiment file (path relative to the sweep file) or an inline experiment. */
    base: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    /** Child experiments running at once. 1 fits a single GPU worker (it serves one activity at a time). */
    maxParallel: z.number().int().positive().max(MAX_VARIANTS).default(1),
    /** Overrides applied to every variant before its own. */
    set: overrides.default({}),
    /** Dotted path → values; one variant per combination (the cross product). */
    grid: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
    variants: z.array(sweepVariantSchema).min(1).optional(),
    /** The paper's expected directions, checked against the results in the sweep report. */
    expect: z.array(expectationSchema).default([]),
  })
  .strict();

export type SweepFile = z.output<typeof sweepSchema>;
export type SweepFileInput = z.input<typeof sweepSchema>;

/**
 * Reads a sweep file and expands it into its variants, each a complete experiment config validated
 * by the experiment schema before anything starts. A bad sweep is a ConfigError naming the file and
 * the field; a bad variant one naming the variant too (`sweep.yaml (variant 'crop-only')`), located
 * at the override that caused it.
 *
 * Overrides are applied to the experiment file as written (before defaults), so that e.g. setting
 * `model.head.type: linear` also gets the linear head's default depth.
 *
 * @example
 *   const plan = await loadSweepFile('examples/sweeps/head.yaml');
 *   plan.variants.map((v) => v.name); // ['nonlinear', 'linear', 'none']
 */
import { FOLDER_IMAGE_SIZE } from './image-size';
import { dirname, resolve as resolvePath } from 'node:path';
import { ConfigError, type ConfigIssue } from './errors';
import { fingerprint } from './fingerprint';
import { formatPath, toConfigIssues } from './issues';
import {
  byPosition,
  parseExperiment,
  parseJsonWith,
  parseYamlWith,
  readConfigText,
  withPositions,
  type Locator,
} from './load';
import { resolveExperiment } from './resolve';
import type { ExperimentConfig } from './schema';
import { ClaimSyntaxError, unknownVariants, type Expectation } from './sweep-expectation';
import { DOTTED_PATH, MAX_VARIANTS, sweepSchema, VARIANT_NAME, type SweepFile } from './sweep-schema';

/** One child experiment of a sweep. */
export interface SweepVariant {
  name: string;
  description?: string;
  /** The variant's own overrides (dotted path → value), on top of the sweep's common `set`. */
  overrides: Record<string, unknown>;
  /** The knobs that differ between the variants, with this variant's value (defaults filled). */
  knobs: Record<string, unknown>;
  config: ExperimentConfig;
  /**
   * Identifies the stream of augmented views the variant trains on (dataset, augmentation, seed):
   * variants that share one must not pretrain at the same time, since each deletes the views it consumed.
   */
  viewStream: string;
}

export interface SweepPlan {
  name: string;
  description?: string;
  /** The sweep file, or 'preset <name>'. */
  source: string;
  maxParallel: number;
  variants: SweepVariant[];
  expectations: Expectation[];
}

/** Reads, parses and expands the sweep file at `path` (YAML or JSON). */
export async function loadSweepFile(path: string): Promise<SweepPlan> {
  const { text, json } = await readConfigText(path, 'sweep');
  const parse = json ? parseJsonWith : parseYamlWith;
  const pending = parse(text, path, (obj, source, locate) => ({ obj, source, locate }));
  return parseSweep(pending.obj, pending.source, { baseDir: dirname(path), locate: pending.locate });
}

/**
 * Validates a parsed sweep object and expands it. `baseDir` resolves a `base` given as a path;
 * `locate` finds fields in the sweep file for the error positions.
 */
export async function parseSweep(
  obj: unknown,
  source: string,
  opts: { baseDir: string; locate?: Locator },
): Promise<SweepPlan> {
  const locate = opts.locate;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new ConfigError(source, 'expected a mapping (name, base, grid or variants, …) at the top level');
  const parsed = sweepSchema.safeParse(obj, { reportInput: true });
  if (!parsed.success)
    throw new ConfigError(
      source,
      byPosition(withPositions(toConfigIssues(parsed.error.issues, obj, sweepSchema), locate)),
    );
  const sweep = parsed.data;
  const issues = shapeIssues(sweep);
  if (issues.length > 0) throw new ConfigError(source, byPosition(withPositions(issues, locate)));

  const base = await loadBase(sweep.base, opts.baseDir, source, locate);
  const raws = expand(sweep);
  const nameIssues = gridNameIssues(raws, sweep);
  if (nameIssues.length > 0) throw new ConfigError(source, byPosition(withPositions(nameIssues, locate)));
  const variants = raws.map((raw) => {
    const where = `${source} (variant '${raw.name}')`;
    const input = structuredClone(base);
    const applied = [...raw.applied];
    const setIssues = applied.flatMap((o) => setAt(input, o.path, o.value));
    if (setIssues.length > 0)
      throw new ConfigError(where, byPosition(withPositions(setIssues, overrideLocator(applied, locate))));
    if (raw.description) input.description = raw.description;
    const config = parseExperiment(input, where, overrideLocator(applied, locate));
    return { ...raw, config };
  });

  const knobPaths = [...new Set(variants.flatMap((v) => Object.keys(v.overrides)))];
  const expectations = sweep.expect;
  const expectIssues = expectationIssues(
    expectations,
    variants.map((v) => v.name),
  );
  if (expectIssues.length > 0) throw new ConfigError(source, byPosition(withPositions(expectIssues, locate)));

  return {
    name: sweep.name,
    description: sweep.description,
    source,
    maxParallel: sweep.maxParallel,
    expectations,
    variants: variants.map((v) => ({
      name: v.name,
      ...(v.description ? { description: v.description } : {}),
      overrides: v.overrides,
      knobs: Object.fromEntries(knobPaths.map((p) => [p, valueAtPath(v.config, p)])),
      config: v.config,
      viewStream: viewStreamOf(v.config),
    })),
  };
}

/** The value at a dotted path of a parsed config (undefined when absent). */
export function valueAtPath(config: unknown, path: string): unknown {
  let v = config;
  for (const seg of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** An override as applied, with where it is written in the sweep file (for error positions). */
interface Applied {
  path: string;
  value: unknown;
  at: PropertyKey[];
}

interface RawVariant {
  name: string;
  description?: string;
  overrides: Record<string, unknown>;
  applied: Applied[];
}

/** Grid or variants (exactly one), dotted paths well formed, distinct names, not too many variants. */
function shapeIssues(sweep: SweepFile): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (sweep.grid === undefined && sweep.variants === undefined)
    issues.push({
      path: '',
      message: "expected either 'grid' (dotted path → list of values) or 'variants' (a list of {name, set})",
    });
  if (sweep.grid !== undefined && sweep.variants !== undefined)
    issues.push({ path: 'variants', message: "expected either 'grid' or 'variants', not both" });
  const checkPaths = (obj: Record<string, unknown>, at: PropertyKey[]) => {
    for (const key of Object.keys(obj))
      if (!DOTTED_PATH.test(key))
        issues.push({
          path: formatPath([...at, key]),
          message: `expected a dotted path into the experiment file such as 'augmentation.cropAreaMin', found ${JSON.stringify(key)}`,
        });
  };
  checkPaths(sweep.set, ['set']);
  if (sweep.grid) {
    checkPaths(sweep.grid, ['grid']);
    const count = Object.values(sweep.grid).reduce((n, values) => n * values.length, 1);
    if (count > MAX_VARIANTS)
      issues.push({
        path: 'grid',
        message: `expected at most ${MAX_VARIANTS} combinations, found ${count} (the cross product of the lists)`,
      });
  }
  const seen = new Map<string, number>();
  sweep.variants?.forEach((v, i) => {
    checkPaths(v.set, ['variants', i, 'set']);
    const first = seen.get(v.name);
    if (first !== undefined)
      issues.push({
        path: `variants[${i}].name`,
        message: `expected distinct variant names, found '${v.name}' again (also variants[${first}])`,
      });
    else seen.set(v.name, i);
  });
  return issues;
}

function expectationIssues(expectations: Expectation[], names: string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  expectations.forEach((e, i) => {
    try {
      const unknown = unknownVariants(e.holds, names);
      if (unknown.length > 0)
        issues.push({
          path: `expect[${i}].holds`,
          message: `names no variant ${unknown.map((n) => `'${n}'`).join(', ')}; the variants are ${names.join(', ')}`,
        });
    } catch (err) {
      if (!(err instanceof ClaimSyntaxError)) throw err;
      issues.push({ path: `expect[${i}].holds`, message: err.message });
    }
  });
  return issues;
}

/** The base experiment as written: parsed from its file (errors name that file) or given inline. */
async function loadBase(
  base: SweepFile['base'],
  baseDir: string,
  source: string,
  locate?: Locator,
): Promise<Record<string, unknown>> {
  if (typeof base !== 'string') {
    parseExperiment(base, `${source} (base)`, (path, atKey) => locate?.(['base', ...path], atKey));
    return base;
  }
  const file = resolvePath(baseDir, base);
  let raw: { obj: unknown } | undefined;
  try {
    const { text, json } = await readConfigText(file, 'experiment');
    raw = (json ? parseJsonWith : parseYamlWith)(text, file, (obj, name, loc) => {
      parseExperiment(obj, name, loc); // the base must be valid on its own
      return { obj };
    });
  } catch (err) {
    if (err instanceof ConfigError && err.source === file && /cannot read|ending in/.test(err.message)) {
      const pos = locate?.(['base']);
      throw new ConfigError(source, [{ path: 'base', message: err.message, ...pos }]);
    }
    throw err;
  }
  return raw.obj as Record<string, unknown>;
}

/** The variants with their overrides: the common `set` first, then the variant's own. */
function expand(sweep: SweepFile): RawVariant[] {
  const common: Applied[] = Object.entries(sweep.set).map(([path, value]) => ({
    path,
    value,
    at: ['set', path],
  }));
  if (sweep.variants) {
    return sweep.variants.map((v, i) => ({
      name: v.name,
      description: v.description,
      overrides: v.set,
      applied: [
        ...common,
        ...Object.entries(v.set).map(([path, value]) => ({ path, value, at: ['variants', i, 'set', path] })),
      ],
    }));
  }
  const axes = Object.entries(sweep.grid ?? {});
  const names = gridNames(axes.map(([p]) => p));
  let combos: Applied[][] = [[]];
  for (const [path, values] of axes) {
    combos = combos.flatMap((c) => values.map((value, j) => [...c, { path, value, at: ['grid', path, j] }]));
  }
  return combos.map((combo) => ({
    name: combo.map((o) => `${names.get(o.path)}-${valueName(o.value)}`).join('_') || 'base',
    overrides: Object.fromEntries(combo.map((o) => [o.path, o.value])),
    applied: [...common, ...combo],
  }));
}

/** Names made from grid values must be valid and distinct (e.g. 0.1 and '0.1' would clash). */
function gridNameIssues(raws: RawVariant[], sweep: SweepFile): ConfigIssue[] {
  if (!sweep.grid) return [];
  const seen = new Set<string>();
  for (const r of raws) {
    if (!VARIANT_NAME.test(r.name) || seen.has(r.name))
      return [
        {
          path: 'grid',
          message: `the variant name '${r.name}' made from the grid values is ${seen.has(r.name) ? 'not unique' : 'too long or not a valid name'}; use 'variants' with explicit names instead`,
        },
      ];
    seen.add(r.name);
  }
  return [];
}

/** Short names of the grid's paths: the last segment, or the whole path where two last segments clash. */
function gridNames(paths: string[]): Map<string, string> {
  const last = (p: string) => p.slice(p.lastIndexOf('.') + 1);
  return new Map(paths.map((p) => [p, paths.filter((q) => last(q) === last(p)).length > 1 ? p : last(p)]));
}

/** A value as it reads in a variant name: 0.2, true, nonlinear, 0.01+0.1 for a list. */
function valueName(value: unknown): string {
  const text = Array.isArray(value) ? value.map(String).join('+') : String(value);
  return text.replace(/[^A-Za-z0-9.+-]/g, '-').slice(0, 24) || 'x';
}

/** Sets `path` in `obj` (creating mappings on the way); an issue when a step is not a mapping. */
function setAt(obj: Record<string, unknown>, path: string, value: unknown): ConfigIssue[] {
  const segs = path.split('.');
  let node: Record<string, unknown> = obj;
  for (let i = 0; i < segs.length - 1; i++) {
    const next = node[segs[i]];
    if (next === undefined || next === null) node[segs[i]] = {};
    else if (typeof next !== 'object' || Array.isArray(next))
      return [
        {
          path,
          message: `cannot set: ${segs.slice(0, i + 1).join('.')} is ${JSON.stringify(next)} in the base experiment, not a mapping`,
        },
      ];
    node = node[segs[i]] as Record<string, unknown>;
  }
  node[segs[segs.length - 1]] = structuredClone(value);
  return [];
}

/** Locates an experiment field at the override that set it (or an enclosing one) in the sweep file. */
function overrideLocator(applied: Applied[], locate?: Locator): Locator {
  return (path) => {
    const field = formatPath(path);
    const o = [...applied]
      .reverse()
      .find((a) => field === a.path || field.startsWith(`${a.path}.`) || field.startsWith(`${a.path}[`));
    return o && locate ? locate(o.at) : undefined;
  };
}

/** Same dataset, augmentation (as resolved for the image size) and seed: the same stream of views. */
function viewStreamOf(config: ExperimentConfig): string {
  // Any size serves to compare variants of one dataset config: they all resolve for the same size.
  const resolved = resolveExperiment(config, {
    imageSize: config.dataset.imageSize ?? FOLDER_IMAGE_SIZE,
    channels: config.dataset.channels ?? 3,
  });
  const { lookaheadEpochs: _unused, ...augmentation } = resolved.augmentation;
  return fingerprint({ dataset: config.dataset, augmentation, seed: config.seed });
}

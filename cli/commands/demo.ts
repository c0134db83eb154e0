/**
 * `simclr demo`: `simclr run examples/fashion-mnist-small.yaml --embedded`, runnable anywhere. When
 * Debian's Fashion-MNIST (the example's dataset.source) is not installed, the same experiment runs on a
 * generated dataset of shapes (simclr/datasets/synthetic.ts) of the same size — 10 classes, the
 * example's maxTrainImages / maxTestImages images, its imageSize — and says so on stderr.
 */
import { FOLDER_IMAGE_SIZE } from '../../config/image-size';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { parseYamlExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import { simclrHome } from '../../infra/paths';
import { isIdxDirectory } from '../../simclr/datasets/idx';
import { generateShapesDataset, SHAPE_CLASSES, type ShapesDataset } from '../../simclr/datasets/synthetic';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { CliError, type Output } from '../output';
import { loadConfig, runExperiment } from './run';

/** The demo's experiment file. */
export const DEMO_FILE = resolve(__dirname, '../../examples/fashion-mnist-small.yaml');

/** Images per class generated when the example sets no limit (Fashion-MNIST's demo subset: 6000 / 2000). */
const DEFAULT_TRAIN_PER_CLASS = 600;
const DEFAULT_TEST_PER_CLASS = 200;

export const usage = `usage: simclr demo [--id ID] [--dataset-dir DIR] [--force-synthetic] [--json]

  Runs the embedded demo, as 'simclr run examples/fashion-mnist-small.yaml --embedded': SimCLR on 6000
  Fashion-MNIST images with resnet-mini, then fine-tuning and linear evaluation against a random-init
  encoder. Without Debian's Fashion-MNIST (apt-get install dataset-fashion-mnist), the same experiment
  runs on a generated dataset of ten classes of shapes of the same size.

  --id ID               experiment id (default <name>-<YYYYMMDD-HHMMSS>, UTC)
  --dataset-dir DIR     where the generated dataset is written (default $SIMCLR_HOME/datasets/shapes);
                        generated once, again only when its parameters change
  --force-synthetic     use the generated dataset even when Fashion-MNIST is installed
${TEMPORAL_USAGE}`;

export interface DemoOptions {
  /** The experiment file (default DEMO_FILE). */
  file?: string;
  /** Where the generated dataset goes. */
  datasetDir: string;
  /** Use the generated dataset even when the file's dataset is installed. */
  forceSynthetic: boolean;
  /** Where the lines for people go (stderr). */
  note(line: string): void;
}

/**
 * The demo's experiment: the file as is when its IDX dataset is installed, else the same file with
 * dataset.source / format (and the name) replaced by the generated dataset, validated by the schema
 * like any experiment file. `synthetic` describes the generated dataset when it is used.
 */
export async function demoExperiment(
  opts: DemoOptions,
): Promise<{ config: ExperimentConfig; synthetic?: ShapesDataset }> {
  const file = opts.file ?? DEMO_FILE;
  const config = await loadConfig(file);
  const installed = isIdxDirectory(config.dataset.source);
  if (installed && !opts.forceSynthetic) return { config };

  const classes = SHAPE_CLASSES.length;
  const d = config.dataset;
  const imagesPerClass = Math.ceil((d.maxTrainImages ?? DEFAULT_TRAIN_PER_CLASS * classes) / classes);
  const testImagesPerClass = Math.ceil((d.maxTestImages ?? DEFAULT_TEST_PER_CLASS * classes) / classes);
  const total = (imagesPerClass + testImagesPerClass) * classes;
  const dir = resolve(opts.datasetDir);
  opts.note(
    installed
      ? `--force-synthetic: training on a generated dataset of ${total} images in ${dir} instead of ${d.source}`
      : `Fashion-MNIST not found (apt-get install dataset-fashion-mnist); training on a generated dataset of ${total} images in ${dir} instead`,
  );
  const t0 = Date.now();
  let synthetic: ShapesDataset;
  try {
    synthetic = await generateShapesDataset(dir, {
      imagesPerClass,
      testImagesPerClass,
      size: d.imageSize ?? FOLDER_IMAGE_SIZE,
      seed: config.seed,
    });
  } catch (err) {
    throw new CliError(`cannot generate the demo dataset: ${(err as Error).message}`);
  }
  opts.note(
    synthetic.generated
      ? `generated ${total} images of ${classes} shapes (${synthetic.classNames.join(', ')}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`
      : `using the ${total} images generated earlier in ${dir}`,
  );

  // The same file with the dataset replaced, through the same parser and schema as any experiment file.
  const doc = parseDocument(await readFile(file, 'utf8'));
  doc.set('name', `shapes-${d.imageSize}px`);
  doc.set(
    'description',
    `Embedded demo on generated shapes (${classes} classes, ${d.imageSize} px), as ${config.name} without Fashion-MNIST`,
  );
  doc.setIn(['dataset', 'source'], dir);
  doc.setIn(['dataset', 'format'], 'folder');
  return { config: parseYamlExperiment(doc.toString(), `${file} (dataset: ${dir})`), synthetic };
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    {
      ...COMMON_OPTIONS,
      ...TEMPORAL_OPTIONS,
      id: { type: 'string' },
      'dataset-dir': { type: 'string' },
      'force-synthetic': { type: 'boolean' },
    },
    usage,
  );
  positionals(pos, [], usage);
  const { config } = await demoExperiment({
    datasetDir: values['dataset-dir'] ?? join(simclrHome(), 'datasets', 'shapes'),
    forceSynthetic: values['force-synthetic'] ?? false,
    note: (line) => out.note(line),
  });
  return runExperiment(
    config,
    { id: values.id, address: values.address, namespace: values.namespace, embedded: true },
    out,
  );
}

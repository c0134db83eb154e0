/**
 * TensorFlow.js' Python converter (`tensorflowjs_converter`), the one route from a TensorFlow.js layers
 * model to a SavedModel: tfjs-node saves only TensorFlow.js models (its `file://` handler writes
 * model.json + weights.bin), so a SavedModel has to be written by Python TensorFlow. The converter is an
 * optional install (infra/setup-tfjs-converter.sh, into the cache outside the clone).
 *
 * @example
 *   const converter = findTfjsConverter();            // undefined when not installed
 *   await layersModelToSavedModel(converter!, 'out/encoder/model.json', 'out/savedmodel/encoder');
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The converter's version: that of @tensorflow/tfjs in package.json (the setup script's default). */
export const TFJS_CONVERTER_VERSION = '4.22.0';
export const SETUP_SCRIPT = 'infra/setup-tfjs-converter.sh';

/** Where the setup script installs the converter (SIMCLR_CACHE, default ~/.cache/simclr). */
export function defaultTfjsConverterPath(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.SIMCLR_CACHE ?? join(homedir(), '.cache', 'simclr');
  return join(cache, 'tfjs-converter', TFJS_CONVERTER_VERSION, 'bin', 'tensorflowjs_converter');
}

/** $SIMCLR_TFJS_CONVERTER, else the setup script's install, when it exists; else undefined. */
export function findTfjsConverter(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.SIMCLR_TFJS_CONVERTER ? resolve(env.SIMCLR_TFJS_CONVERTER) : defaultTfjsConverterPath(env);
  return existsSync(path) ? path : undefined;
}

/** Why a SavedModel cannot be written here, and how to make it possible (for an error message). */
export function missingConverterMessage(env: NodeJS.ProcessEnv = process.env): string {
  const where = env.SIMCLR_TFJS_CONVERTER
    ? `SIMCLR_TFJS_CONVERTER=${env.SIMCLR_TFJS_CONVERTER} does not exist`
    : `it is not installed (looked for ${defaultTfjsConverterPath(env)})`;
  return (
    `a SavedModel needs TensorFlow.js' Python converter, and ${where}. ` +
    'tfjs-node cannot write SavedModels: it saves TensorFlow.js models only (model.json + weights.bin), ' +
    `so the export converts those with Python TensorFlow. Install the converter with \`${SETUP_SCRIPT}\` ` +
    '(Python 3.9-3.12, about 3 GB into ~/.cache/simclr/tfjs-converter) or point SIMCLR_TFJS_CONVERTER ' +
    'at a tensorflowjs_converter; or export with --format tfjs'
  );
}

/**
 * Converts the layers model `modelJson` into a Keras SavedModel folder `outDir` (tf_keras
 * `save_format='tf'`), by running the converter. Rejects with the converter's own error output.
 */
export function layersModelToSavedModel(converter: string, modelJson: string, outDir: string): Promise<void> {
  const args = ['--input_format=tfjs_layers_model', '--output_format=keras_saved_model', modelJson, outDir];
  return new Promise((done, fail) => {
    execFile(
      converter,
      args,
      { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
      (err, _stdout, stderr) => {
        if (!err) return done();
        const tail = stderr.trim().split('\n').slice(-15).join('\n');
        fail(new Error(`${converter} ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${tail}`));
      },
    );
  });
}

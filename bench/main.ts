/**
 * Benchmarks, never run by the tests: `npm run bench -- <command> [flags]`.
 *
 *   train    one pretraining step on synthetic views: views/s, step time, MFU (./train.ts)
 *   compare  the train benchmark next to the same model in PyTorch, as a table (./compare.ts)
 *   pipeline in-pipeline views/s of a real embedded experiment against the isolated step (./pipeline.ts)
 *   augment  augmented views per second at 28×28×1 and 32×32×3, TypeScript vs sharp (./augment.ts)
 *   model    one forward+backward+update of a model on random data (./model-step.ts)
 *   scale-out  augmentation precompute with 1…N cpu-worker processes, and its spread (./scale-out.ts)
 *   umap     the report's seeded UMAP embedding map for 2,000 to 5,000 points (./umap-map.ts)
 */
const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<void> }> = {
  train: {
    summary: 'pretraining step throughput and MFU (tfjs)',
    run: (argv) => require('./train').trainCommand(argv),
  },
  compare: {
    summary: 'tfjs vs PyTorch, same model, batch and threads',
    run: (argv) => require('./compare').compareCommand(argv),
  },
  pipeline: {
    summary: 'in-pipeline views/s (embedded / separate workers) against the isolated step',
    run: (argv) => require('./pipeline').pipelineCommand(argv),
  },
  'scale-out': {
    summary: 'precompute views/s with 1…cores cpu-worker processes, spread from the history',
    run: (argv) => require('./scale-out').scaleOutCommand(argv),
  },
  umap: {
    summary: "the report's embedding map (UMAP) time by number of points",
    run: (argv) => require('./umap-map').umapCommand(argv),
  },
  // These two run on import and read process.argv themselves.
  augment: {
    summary: 'augmented views per second (TypeScript vs sharp)',
    run: async () => void require('./augment'),
  },
  model: { summary: 'one model step on random data', run: async () => void require('./model-step') },
};

async function main(): Promise<void> {
  const [command, ...argv] = process.argv.slice(2);
  const entry = command === undefined ? undefined : COMMANDS[command];
  if (!entry) {
    console.error(
      `usage: npm run bench -- <command> [flags]\n${Object.entries(COMMANDS)
        .map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`)
        .join('\n')}`,
    );
    process.exit(command === undefined || command === '--help' ? 0 : 2);
  }
  await entry.run(argv);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

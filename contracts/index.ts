/**
 * What crosses the Temporal boundary, imported by workflows, activities, workers and the CLI alike:
 * task-queue names, every activity's input and output, the workflows' inputs, progress and results,
 * and the non-retryable error classes with the list derived from them. Light (no node:, tfjs, sharp,
 * minio): the workflow sandbox loads it.
 */
export * from './activities';
export * from './augment';
export * from './dataset';
export * from './embed';
export * from './errors';
export * from './evaluate';
export * from './experiment';
export * from './pretrain';
export * from './queues';
export * from './report';
export * from './retrain';
export * from './store';
export * from './sweep';

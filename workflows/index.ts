/** Every workflow the workers register (workflowsPath points here). */
export { experiment, progressQuery } from './experiment';
export { pretrainLoop, pretrainProgressQuery } from './pretrain-loop';
export { sweep, sweepProgressQuery } from './sweep';
export { retrain } from './retrain';
export { embed, embedProgressQuery } from './embed';

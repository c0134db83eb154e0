/**
 * Bounds on what one workflow run writes into its Temporal event history, not from the paper: Temporal
 * refuses a payload over 2 MB, warns past 10k events / 10 MB and terminates a run at 50k events / 50 MB
 * (server defaults). The workflows keep every run far below that whatever the dataset size
 * (README "History size"; test/integration/history-scale.test.ts measures it at ImageNet size).
 */
export const HISTORY_BOUNDS = {
  /**
   * At most this many activities per fan-out (the shards of one split, the views of one epoch): above it
   * each activity takes a contiguous range of shards. 32 keeps an epoch of the pretrain loop at about
   * 125 events (measured at ImageNet size) however many shards there are, and still gives 32 CPU worker
   * slots work at once.
   */
  maxActivitiesPerFanOut: 32,
  /**
   * The pretrain loop continues as new after the epoch during which its run passed this many events
   * (or `continueAsNewBytes`), even before pretrain.epochsPerRun: with an epoch at about 125 events,
   * a run stays under 5,000 events.
   */
  continueAsNewEvents: 4_000,
  /** ... or this many bytes of history (an epoch adds about 80 KB): a run stays under 5 MB. */
  continueAsNewBytes: 4 * 1024 * 1024,
} as const;

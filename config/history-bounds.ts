/**
 * Bounds on what one workflow run writes into its Temporal event history, not from the paper: Temporal
 * refuses a payload over 2 MB, warns past 10k events / 10 MB and terminates a run at 50k events / 50 MB
 * (server defaults). The workflows keep every run far below that whatever the dataset size
 * (README "History size"; test/integration/history-scale.test.ts measures it at ImageNet size).
 */
export const HISTORY_BOUNDS = {
  /**
   * At most this many activities per fan-out (the shards of one split, the views of one epoch): above it
   * each activity takes a contiguous range of shards. 32 keeps an epoch of the pretrain loop under ~250
   * events however many shards there are, and still gives 32 CPU workers (or worker slots) work at once.
   */
  maxActivitiesPerFanOut: 32,
  /**
   * The pretrain loop continues as new after the epoch during which its run passed this many events
   * (or `continueAsNewBytes`), even before pretrain.epochsPerRun: with one epoch at most ~250 events,
   * a run stays under 5,000 events.
   */
  continueAsNewEvents: 4_000,
  /** ... or this many bytes of history (one epoch adds well under 0.5 MB): a run stays under 5 MB. */
  continueAsNewBytes: 4 * 1024 * 1024,
} as const;

/**
 * The live view of a run (`simclr run` without --detach, `simclr watch`): a line per stage and a progress
 * bar for the current one. On a terminal the frame is redrawn in place; elsewhere (CI logs, pipes) it
 * becomes plain lines: one per stage change or retry, and a progress line every PLAIN_EVERY_MS.
 */
import type { Client } from '@temporalio/client';
import type { TemporalTarget } from '../infra/temporal-connection';
import { WORK_STAGES, type Stage } from '../contracts';
import { formatDuration, percent, progressBar, truncate } from './format';
import { takeSnapshot, type ActivityState, type RunSnapshot } from './snapshot';

/** The stages of an experiment, in order (workflows/experiment.ts). */
export const STAGES: readonly Stage[] = WORK_STAGES;

/**
 * The activities each stage runs (workflows/experiment.ts, workflows/pretrain-loop.ts). The view shows
 * only the current stage's: the pending activities (describe) and the stage (query) are two reads, and
 * an activity that ended between them must not show under the next stage ("evaluate fineTune").
 */
export const STAGE_ACTIVITIES: Partial<Record<Stage, string[]>> = {
  validate: ['inspectDataset'],
  // The range activities since the bounded fan-out (workflows/shard-ranges.ts); the others for older runs.
  shard: ['shardDatasetRange', 'commitDatasetShards', 'shardDataset', 'commitDataset', 'readDatasetManifest'],
  pretrain: [
    'preparePretraining',
    'precomputeAugmentationRange',
    'precomputeAugmentations',
    'pretrainEpoch',
    'deleteAugmentations',
  ],
  finetune: ['fineTune'],
  evaluate: ['evaluateRepresentation'],
  baselines: ['evaluateRepresentation', 'fineTune', 'supervisedBaseline'],
  report: ['writeExperimentReport'],
};

/** The pending activities of the run's current stage (all of them when the stage is unknown). */
export function currentActivities(s: RunSnapshot): ActivityState[] {
  const own = s.stage ? STAGE_ACTIVITIES[s.stage as Stage] : undefined;
  return own ? s.activities.filter((a) => own.includes(a.activity)) : s.activities;
}

/** How often plain mode repeats the current stage's progress. */
export const PLAIN_EVERY_MS = 15_000;

const BAR_WIDTH = 24;

/** The current stage's progress: a fraction when it is known, and what it is doing in words. */
export function stageDetail(s: RunSnapshot): { fraction?: number; etaSeconds?: number; text: string } {
  const p = s.pretrain;
  const activities = currentActivities(s);
  if (s.stage === 'pretrain' && p) {
    const parts = [`epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}`];
    if (p.step !== undefined && p.stepsPerEpoch !== undefined)
      parts.push(`step ${p.step}/${p.stepsPerEpoch}`);
    const trend = p.lossTrend ? ` ${p.lossTrend}` : '';
    if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}${trend}`);
    else if (p.lastEpochLoss !== undefined)
      parts.push(`last epoch loss ${p.lastEpochLoss.toFixed(4)}${trend}`);
    if (p.knnTop1 !== undefined) parts.push(`kNN top-1 ${percent(p.knnTop1)}`);
    if (p.viewsPerSec !== undefined) parts.push(`${Math.round(p.viewsPerSec)} views/s`);
    if (p.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
    const epochRun = activities.find((a) => a.activity === 'pretrainEpoch');
    if (epochRun?.queued) parts.push('pretrainEpoch queued: waiting for a gpu worker');
    else if (
      p.step === undefined &&
      !epochRun &&
      activities.some((a) => a.activity.startsWith('precomputeAugmentation'))
    ) {
      parts.push('waiting for augmentations');
    }
    return { fraction: p.fraction, etaSeconds: p.etaSeconds, text: parts.join('  ') };
  }
  const generic = activities.map((a) => a.details).find(hasEpochs);
  const counts = new Map<string, { n: number; queued: number }>();
  for (const a of activities) {
    const c = counts.get(a.activity) ?? { n: 0, queued: 0 };
    c.n++;
    if (a.queued) c.queued++;
    counts.set(a.activity, c);
  }
  const running = [...counts]
    .map(([name, c]) => `${name}${c.n > 1 ? ` ×${c.n}` : ''}${c.queued === c.n ? ' (queued)' : ''}`)
    .join(', ');
  return {
    fraction: generic ? generic.epoch / generic.epochs : undefined,
    text: [generic ? `epoch ${generic.epoch}/${generic.epochs}` : '', running].filter(Boolean).join('  '),
  };
}

/** The stage with its progress in one line: 'pretrain 40.0 %  epoch 6/15  step 120/234  loss 4.1234 …'. */
export function stageLine(s: RunSnapshot): string {
  const d = stageDetail(s);
  const pct = d.fraction !== undefined ? ` ${percent(d.fraction)}` : '';
  return `${s.stage ?? 'starting'}${pct}${d.text ? `  ${d.text}` : ''}`;
}

function hasEpochs(d: unknown): d is { epoch: number; epochs: number } {
  const x = d as { epoch?: unknown; epochs?: unknown } | undefined;
  return typeof x?.epoch === 'number' && typeof x.epochs === 'number' && x.epochs > 0;
}

function retries(s: RunSnapshot): ActivityState[] {
  return currentActivities(s).filter((a) => a.attempt > 1);
}

/** Seconds left in a stage `fraction` done after `elapsed` seconds, at the pace so far. */
export function etaAtPace(fraction: number, elapsed: number): number | undefined {
  return fraction > 0.01 && fraction < 1 ? (elapsed * (1 - fraction)) / fraction : undefined;
}

/** The frame of one snapshot, as lines (no trailing newline, no colour). */
export function renderFrame(s: RunSnapshot, now = new Date()): string[] {
  const lines = [
    `experiment ${s.experimentId}  ${s.status.toLowerCase()}  ${formatDuration(s.elapsedSeconds)}`,
  ];
  const timings = s.progress?.stages ?? [];
  if (timings.length > 0) {
    // A run that closed without completing stopped in the last stage it entered.
    const stoppedIn = s.closed && s.status !== 'COMPLETED' ? timings[timings.length - 1].stage : undefined;
    // A stage the run went past without entering was skipped (e.g. baselines switched off): not listed.
    const reached = Math.max(...timings.map((x) => STAGES.indexOf(x.stage)));
    for (const [i, name] of STAGES.entries()) {
      const t = timings.find((x) => x.stage === name);
      const label = name.padEnd(9);
      if (!t && i < reached) continue;
      if (!t) lines.push(`  · ${name}`);
      else if (name === stoppedIn) lines.push(`  ✗ ${label} ${formatDuration(t.seconds)}`);
      else if (t.endedAt) lines.push(`  ✓ ${label} ${formatDuration(t.seconds)}`);
      else {
        const d: ReturnType<typeof stageDetail> = s.stage === name ? stageDetail(s) : { text: '' };
        const seconds = (now.getTime() - Date.parse(t.startedAt)) / 1000;
        const eta =
          d.etaSeconds === undefined && d.fraction !== undefined ? etaAtPace(d.fraction, seconds) : undefined;
        const text = eta === undefined ? d.text : `${d.text}  ETA ${formatDuration(eta)}`;
        const bar =
          d.fraction !== undefined
            ? `${progressBar(d.fraction, BAR_WIDTH)} ${percent(d.fraction).padStart(7)}  `
            : '';
        lines.push(`  ▸ ${label} ${bar}${text}${text ? '  ' : ''}(${formatDuration(seconds)})`);
      }
    }
  } else if (s.stage) {
    lines.push(`  stage: ${s.stage}`);
  }
  for (const a of retries(s))
    lines.push(`  ! ${a.activity} attempt ${a.attempt}${a.lastFailure ? ` after: ${a.lastFailure}` : ''}`);
  if (s.noWorker)
    lines.push(
      "  no worker is answering: start one with 'simclr worker --queue all' (the run waits, nothing is lost)",
    );
  if (s.failure) lines.push(`  ${s.status.toLowerCase()}: ${s.failure}`);
  return lines;
}

/** Redraws the frame in place on a terminal. */
export class TtyRenderer {
  private drawn = 0;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  draw(s: RunSnapshot): void {
    const width = Math.max(20, (this.stream.columns || 100) - 1);
    const lines = renderFrame(s).map((l) => truncate(l, width));
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A\r` : '';
    this.stream.write(`${up}\x1b[0J${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}

/** Plain lines for logs: stage changes, retries and a periodic progress line. */
export class PlainRenderer {
  private started = new Set<string>();
  private ended = new Set<string>();
  private retriesSeen = new Set<string>();
  private lastProgressAt = 0;
  private noWorkerSaid = false;

  constructor(
    private readonly write: (line: string) => void,
    private readonly everyMs = PLAIN_EVERY_MS,
  ) {}

  draw(s: RunSnapshot, now = Date.now()): void {
    const at = `[${formatDuration(s.elapsedSeconds).padStart(7)}]`;
    if (this.started.size === 0 && this.ended.size === 0 && this.lastProgressAt === 0)
      this.write(`${at} experiment ${s.experimentId} ${s.status.toLowerCase()}`);
    const timings = s.progress?.stages ?? [];
    const stoppedIn = s.closed && s.status !== 'COMPLETED' ? timings[timings.length - 1]?.stage : undefined;
    for (const t of timings) {
      if (!this.started.has(t.stage)) {
        this.started.add(t.stage);
        if (!t.endedAt) this.write(`${at} ▸ ${t.stage}`);
      }
      if (t.endedAt && !this.ended.has(t.stage)) {
        this.ended.add(t.stage);
        if (t.stage === stoppedIn)
          this.write(`${at} ✗ ${t.stage} stopped after ${formatDuration(t.seconds)}`);
        else this.write(`${at} ✓ ${t.stage} done in ${formatDuration(t.seconds)}`);
      }
    }
    for (const a of retries(s)) {
      const key = `${a.activity}#${a.attempt}`;
      if (this.retriesSeen.has(key)) continue;
      this.retriesSeen.add(key);
      this.write(
        `${at} ! ${a.activity} attempt ${a.attempt}${a.lastFailure ? ` after: ${a.lastFailure}` : ''}`,
      );
    }
    if (s.noWorker && !this.noWorkerSaid) {
      this.noWorkerSaid = true;
      this.write(`${at} no worker is answering: start one with 'simclr worker --queue all'`);
    }
    if (!s.noWorker) this.noWorkerSaid = false;
    if (!s.closed && s.stage && now - this.lastProgressAt >= this.everyMs) {
      this.lastProgressAt = now;
      this.write(`${at}   ${stageLine(s)}`);
    }
    if (s.closed) this.write(`${at} ${s.status.toLowerCase()}${s.failure ? `: ${s.failure}` : ''}`);
  }
}

export interface WatchOptions {
  /** Where the view goes (stderr: stdout is kept for the result). */
  stream?: NodeJS.WriteStream;
  /** Show nothing (e.g. --json without a terminal): only wait for the end. */
  quiet?: boolean;
  intervalMs?: number;
  /** Stops watching (the run goes on); watchRun then returns the last snapshot. */
  signal?: AbortSignal;
}

/** Follows run `id` until it closes (or `signal` aborts), drawing the view; returns the last snapshot. */
export async function watchRun(
  client: Client,
  target: TemporalTarget,
  id: string,
  opts: WatchOptions = {},
): Promise<RunSnapshot> {
  const stream = opts.stream ?? process.stderr;
  const renderer = opts.quiet
    ? undefined
    : stream.isTTY
      ? new TtyRenderer(stream)
      : new PlainRenderer((l) => stream.write(l + '\n'));
  const interval = opts.intervalMs ?? (stream.isTTY ? 1000 : 2000);
  for (;;) {
    const snap = await takeSnapshot(client, target, id);
    renderer?.draw(snap);
    if (snap.closed || opts.signal?.aborted) return snap;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, interval);
      opts.signal?.addEventListener('abort', done, { once: true });
    });
  }
}

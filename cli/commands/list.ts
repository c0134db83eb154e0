/**
 * `simclr list [--limit N] [filters]`: the experiments in the namespace, newest first, from Temporal's
 * visibility store: status, stage and linear top-1 (search attributes of the experiment), the
 * pretraining epoch (the SimclrEpoch search attribute of its pretrain loop), start time. The filters
 * become a visibility query (../list-query.ts), which --json also returns for the web UI's filter bar.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Lineage } from '../../contracts/retrain';
import { SA_EPOCH, SA_SCHEDULE, SA_STAGE, SA_TOP1 } from '../../workflows/search-attributes';
import {
  COMMON_OPTIONS,
  parseCommand,
  positionals,
  positiveIntFlag,
  TEMPORAL_OPTIONS,
  TEMPORAL_USAGE,
} from '../args';
import { connectTemporal, resolveTarget } from '../connect';
import { formatTimestamp, percent, table } from '../format';
import { listQuery, STAGE_NAMES, STATUS_NAMES, type ListFilters } from '../list-query';
import { EXIT_OK, type Output } from '../output';
import { EXPERIMENT_WORKFLOW_TYPE } from '../snapshot';

export const usage = `usage: simclr list [--limit N] [--stage S] [--schedule NAME] [--status S] [--since T] [--json]

  --limit N             show at most N experiments (default 20)
  --stage S             only runs in stage S (${STAGE_NAMES.join(', ')})
  --schedule NAME       only runs started by schedule NAME (search attribute SimclrSchedule)
  --status S            only runs with status S (${Object.keys(STATUS_NAMES).join(', ')})
  --since T             only runs started in the last T (30m, 24h, 7d) or since a date (2026-11-29)
  --encoder E           only runs of encoder E (resnet18, resnet-mini, ...)
  --dataset ID          only runs on dataset ID (search attribute SimclrDatasetId)
${TEMPORAL_USAGE}`;

export interface ExperimentRow {
  id: string;
  runId: string;
  status: string;
  stage: string | null;
  schedule: string | null;
  epoch: number | null;
  top1: number | null;
  startTime: string;
  closeTime: string | null;
  /** A run of a schedule: its lineage (the memo its retrain workflow started it with). */
  lineage: Lineage | null;
}

/** The latest run of each of the newest `limit` experiments that pass `filters`. */
export async function listExperiments(
  client: Client,
  limit: number,
  filters: ListFilters = {},
): Promise<ExperimentRow[]> {
  const latest = new Map<string, WorkflowExecutionInfo>();
  // A resumed experiment has several runs under one id; the visibility store lists each.
  for await (const wf of client.workflow.list({ query: listQuery(EXPERIMENT_WORKFLOW_TYPE, filters) })) {
    const seen = latest.get(wf.workflowId);
    if (!seen || seen.startTime < wf.startTime) latest.set(wf.workflowId, wf);
    if (latest.size >= limit && !seen) break;
  }
  const runs = [...latest.values()]
    .sort((a, b) => b.startTime.getTime() - a.startTime.getTime())
    .slice(0, limit);
  return Promise.all(
    runs.map(async (wf) => {
      const pretrain = await client.workflow
        .getHandle(`${wf.workflowId}/pretrain`)
        .describe()
        .catch(() => undefined);
      return {
        id: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        stage: wf.typedSearchAttributes.get(SA_STAGE) ?? null,
        schedule: wf.typedSearchAttributes.get(SA_SCHEDULE) ?? null,
        epoch: pretrain?.typedSearchAttributes.get(SA_EPOCH) ?? null,
        top1: wf.typedSearchAttributes.get(SA_TOP1) ?? null,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
        lineage: (wf.memo?.lineage as Lineage | undefined) ?? null,
      };
    }),
  );
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    {
      ...COMMON_OPTIONS,
      ...TEMPORAL_OPTIONS,
      limit: { type: 'string' },
      stage: { type: 'string' },
      schedule: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      encoder: { type: 'string' },
      dataset: { type: 'string' },
    },
    usage,
  );
  positionals(pos, [], usage);
  const limit = positiveIntFlag(values.limit, 'limit', 20);
  const { stage, schedule, status, since, encoder, dataset } = values;
  const filters: ListFilters = { stage, schedule, status, since, encoder, dataset };
  const filtered = Object.values(filters).some((v) => v !== undefined);
  const query = listQuery(EXPERIMENT_WORKFLOW_TYPE, filters); // bad filters fail before connecting
  const session = await connectTemporal(resolveTarget(values));
  try {
    const rows = await listExperiments(session.client, limit, filters);
    out.document({ query, experiments: rows });
    if (rows.length === 0)
      out.line(
        filtered
          ? `no experiments match ${query}`
          : `no experiments in namespace '${session.target.namespace}' yet: start one with 'simclr run <experiment.yaml>'`,
      );
    else {
      // Lineage columns only when a run of a schedule is listed.
      const lineage = rows.some((r) => r.lineage);
      out.line(
        table(
          [
            'ID',
            'STATUS',
            'STAGE',
            'EPOCH',
            'TOP-1',
            'STARTED',
            ...(lineage ? ['SCHEDULE', 'PARENT', 'DATASET', 'CODE'] : []),
          ],
          rows.map((r) => [
            r.id,
            r.status.toLowerCase(),
            r.stage ?? '–',
            r.epoch === null ? '–' : String(r.epoch),
            r.top1 === null ? '–' : percent(r.top1),
            formatTimestamp(new Date(r.startTime)),
            ...(lineage
              ? [
                  r.lineage?.schedule ?? r.schedule ?? '–',
                  r.lineage?.parentRun ?? '–',
                  r.lineage?.datasetId ?? '–',
                  r.lineage?.codeVersion.replace(/^git:(\w{10})\w*/, '$1') ?? '–',
                ]
              : []),
          ]),
          ['left', 'left', 'left', 'right', 'right', 'left'],
        ),
      );
    }
    return EXIT_OK;
  } finally {
    await session.close();
  }
}

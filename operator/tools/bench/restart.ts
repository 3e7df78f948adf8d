import { delay, fixed, mb, row, seconds, verdict } from './common.js';
import {
  startOperatorProcess,
  type OperatorProcess,
  type OperatorProcessOptions,
} from './operator-process.js';
import { byLabel, gauge, total, type Sample } from './prometheus.js';

/**
 * The restart phase of the workspace benchmark (issue 12, item 4): the operator that provisioned the burst is
 * stopped with SIGTERM, a new one starts on the same cluster and database, and everything it does until its first
 * idle second is counted. A restart must find everything in place: no DDL, no API write, only the lists that fill
 * its caches (paginated), and it must be synced within seconds.
 */
export interface RestartFigures {
  /** From the new process's spawn to /readyz answering 200 (every cache synced, webhook and database ready). */
  syncedMs: number;
  /** From the spawn to the end of the first second in which it wrote nothing, sent no SQL and had no work queued. */
  idleMs: number;
  /** The new operator's metrics from its start to its first idle second. */
  counts: Sample[];
  rssSynced: number;
  rssIdle: number;
  exitCode: number | null;
}

const WRITES = new Set(['create', 'update', 'patch', 'apply', 'delete']);
const DDL = new Set(['provision', 'drop']);
const isWrite = (l: Record<string, string>) => WRITES.has(l.verb ?? '') && l.resource !== 'leases';

/** Whether anything changed between two scrapes, or work is still queued or in flight. */
function busy(before: Sample[], after: Sample[]): boolean {
  const writes = (s: Sample[]) => total(s, 'workspace_operator_api_requests_total', isWrite);
  const sql = (s: Sample[]) => total(s, 'workspace_operator_sql_statements_total');
  const queued = total(after, 'workqueue_depth') + total(after, 'controller_runtime_active_workers');
  return writes(after) !== writes(before) || sql(after) !== sql(before) || queued > 0;
}

/** Stops `old` (SIGTERM), starts a new operator with the same options and measures it until its first idle second. */
export async function restartPhase(
  old: OperatorProcess,
  options: OperatorProcessOptions,
  log: (line: string) => void,
): Promise<{ figures: RestartFigures; operator: OperatorProcess }> {
  log('restart: stopping the operator (SIGTERM)');
  const exitCode = await old.stop();
  const spawned = performance.now();
  // At 10,000 workspaces the first sync is what is measured: give it room beyond the 15 s target.
  const op = await startOperatorProcess({ ...options, readyTimeoutMs: 300_000 });
  const syncedMs = performance.now() - spawned;
  const rssSynced = op.memory().current;
  log(`restart: synced after ${(syncedMs / 1000).toFixed(2)} s; waiting for its first idle second`);
  let last = await op.metrics();
  let idleMs = Number.NaN;
  const deadline = spawned + 600_000;
  while (performance.now() < deadline) {
    await delay(1_000);
    const next = await op.metrics();
    const quiet = !busy(last, next);
    last = next;
    if (quiet) {
      idleMs = performance.now() - spawned;
      break;
    }
  }
  return {
    figures: { syncedMs, idleMs, counts: last, rssSynced, rssIdle: op.memory().current, exitCode },
    operator: op,
  };
}

/** The report's restart section, beside the targets of issue 12. */
export function restartLines(f: RestartFigures, workspaces: number): string[] {
  const out: string[] = ['', `Restart (SIGTERM, then a new operator on the same ${workspaces} workspaces)`];
  const writes = total(f.counts, 'workspace_operator_api_requests_total', isWrite);
  const ddl = total(f.counts, 'workspace_operator_sql_statements_total', (l) => DDL.has(l.operation ?? ''));
  const sql = total(f.counts, 'workspace_operator_sql_statements_total');
  out.push(row('old operator exit code', String(f.exitCode), `0  ${verdict(f.exitCode === 0)}`));
  out.push(
    row(
      'synced after (spawn → /readyz 200)',
      seconds(f.syncedMs),
      `≤ 15 s  ${verdict(f.syncedMs <= 15_000)}`,
    ),
  );
  out.push(
    row(
      'first idle second after',
      Number.isFinite(f.idleMs) ? seconds(f.idleMs) : 'never (10 min)',
      'nothing written, no SQL, queues empty',
    ),
  );
  out.push(row('DDL statements (provision, drop)', String(ddl), `0  ${verdict(ddl === 0)}`));
  out.push(row('API writes (Lease excluded)', String(writes), `0  ${verdict(writes === 0)}`));
  out.push(row('SQL statements (inventory, set-up)', String(sql)));
  const lists = byLabel(
    f.counts,
    'workspace_operator_api_requests_total',
    'resource',
    (l) => l.verb === 'list',
  );
  const listCount = [...lists.values()].reduce((a, b) => a + b, 0);
  out.push(
    row(
      'list requests (pages), by resource',
      String(listCount),
      [...lists.entries()]
        .filter(([, v]) => v > 0)
        .sort(([, a], [, b]) => b - a)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ),
  );
  const gets = total(f.counts, 'workspace_operator_api_requests_total', (l) => l.verb === 'get');
  out.push(row('get requests', String(gets), `per workspace ${fixed(gets / workspaces)}`));
  out.push(row('RSS when synced → at the first idle second', `${mb(f.rssSynced)} → ${mb(f.rssIdle)}`));
  const heap = gauge(f.counts, 'nodejs_heap_size_used_bytes');
  if (Number.isFinite(heap)) out.push(row('V8 heap used at the first idle second', mb(heap)));
  return out;
}

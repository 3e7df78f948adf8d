import { availableParallelism } from 'node:os';
import { fixed, mb, ms, quantile, row, seconds, verdict } from './common.js';
import { apiServerLines } from './apiserver.js';
import { byLabel, gauge, total, type Sample } from './prometheus.js';

/** CPU seconds per process at one moment. */
export interface CpuReading {
  at: number;
  seconds: Map<string, number>;
  /** Busy CPU seconds of the whole machine, every process included. */
  machine: number;
}

export interface BenchFigures {
  n: number;
  accounts: number;
  concurrency: number;
  workers: number;
  local: boolean;
  /** From the first create to the last workspace seen Ready; NaN when some never were. */
  totalMs: number;
  notReady: number;
  createdAllMs: number;
  createLatencies: number[];
  /** Per workspace: create's response to first Ready for the current generation. */
  latencies: number[];
  /** The operator's metrics over the burst (after minus before). */
  counts: Sample[];
  final: Sample[];
  cpu: { before: CpuReading; after: CpuReading };
  /** RSS: peak, before the burst, right after it, and at the end of the idle period (the same when none). */
  memory: { peak: number; before: number; after: number; afterIdle: number };
  peakDepth: Map<string, number>;
  idle: { seconds: number; counts: Sample[] } | undefined;
  floor:
    | {
        totalMs: number;
        /** Timed by the benchmark's watch, as the operator is (false: by the script's own answers, no watch). */
        watched: boolean;
        latencies: number[];
        counts: Sample[];
        cpu: { before: CpuReading; after: CpuReading };
        apiServer: Sample[] | undefined;
      }
    | undefined;
  /** The API server's metrics over the burst (after minus before), when the benchmark started the platform. */
  apiServer: Sample[] | undefined;
  operatorExit: number | null;
}

/** Prints CPU seconds per process between two readings; returns them by process, the machine's rest included. */
function cpuLines(
  out: string[],
  during: string,
  cpu: { before: CpuReading; after: CpuReading },
): Map<string, number> {
  const wallS = (cpu.after.at - cpu.before.at) / 1000;
  const cores = availableParallelism();
  out.push(
    `  CPU seconds during ${during} (${fixed(wallS)} s of wall time × ${cores} CPUs = ${fixed(wallS * cores)} s available)`,
  );
  const used = new Map(
    [...cpu.after.seconds.entries()]
      .map(([name, s]) => [name, s - (cpu.before.seconds.get(name) ?? 0)] as const)
      .sort(([, a], [, b]) => b - a),
  );
  const share = (s: number) => `${fixed((100 * s) / (wallS * cores), 0)}% of the machine`;
  for (const [name, s] of used) out.push(row(`  ${name}`, `${fixed(s)} s`, share(s)));
  const machine = cpu.after.machine - cpu.before.machine;
  const others = Math.max(0, machine - [...used.values()].reduce((sum, s) => sum + s, 0));
  out.push(row('  other processes on the machine', `${fixed(others)} s`, share(others)));
  const idle = Math.max(0, wallS * cores - machine);
  out.push(row('  idle', `${fixed(idle)} s`, share(idle)));
  used.set('other', others);
  return used;
}

const WRITES = new Set(['create', 'update', 'patch', 'apply', 'delete']);
/**
 * What the operator caches per workspace: the Workspace, its Namespace, staff RoleBinding, NetworkPolicy, Secret,
 * ResourceQuota and LimitRange.
 */
const CACHED_PER_WORKSPACE = 7;
const notWatch = (l: Record<string, string>) => l.verb !== 'watch';
const isWrite = (l: Record<string, string>) => WRITES.has(l.verb ?? '');

function perWorkspace(map: Map<string, number>, n: number): string {
  return [...map.entries()]
    .filter(([, v]) => v > 0)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${fixed(v / n)}`)
    .join(', ');
}

function requestLines(out: string[], counts: Sample[], n: number, who: string): void {
  const requests = total(counts, 'workspace_operator_api_requests_total', notWatch);
  const writes = total(counts, 'workspace_operator_api_requests_total', isWrite);
  out.push(row(`${who}: API requests per workspace (no watches)`, fixed(requests / n)));
  out.push(
    `      by verb:     ${perWorkspace(byLabel(counts, 'workspace_operator_api_requests_total', 'verb', notWatch), n)}`,
  );
  out.push(
    `      by resource: ${perWorkspace(byLabel(counts, 'workspace_operator_api_requests_total', 'resource', notWatch), n)}`,
  );
  out.push(row(`${who}: API writes per workspace`, fixed(writes / n)));
  const failed = byLabel(
    counts,
    'workspace_operator_api_requests_total',
    'code',
    (l) => notWatch(l) && !/^2/.test(l.code ?? ''),
  );
  if ([...failed.values()].some((v) => v > 0)) {
    const byResource = byLabel(
      counts,
      'workspace_operator_api_requests_total',
      'resource',
      (l) => notWatch(l) && !/^2/.test(l.code ?? ''),
    );
    out.push(
      `      answers that were not 2xx: ${[...failed.entries()].map(([c, v]) => `${v} × HTTP ${c}`).join(', ')} (${[...byResource.entries()].map(([r, v]) => `${r} ${v}`).join(', ')})`,
    );
  }
  out.push(
    row(
      `${who}: SQL statements (round trips) per workspace`,
      fixed(total(counts, 'workspace_operator_sql_statements_total') / n),
    ),
  );
}

export function printReport(f: BenchFigures): void {
  const out: string[] = [];
  const n = f.n;
  const ready = f.latencies;
  const p50 = quantile(ready, 0.5);
  const p99 = quantile(ready, 0.99);
  const rate = n / (f.totalMs / 1000);
  out.push('');
  out.push(
    `Workspace burst: ${n} workspaces in ${f.accounts} accounts; creating client concurrency ${f.concurrency}; operator RECONCILE_WORKERS ${f.workers}; ${f.local ? 'local platform' : 'KUBECONFIG / DATABASE_URL'}; ${availableParallelism()} CPUs`,
  );
  out.push('');
  out.push('Throughput and latency');
  out.push(
    row(
      'all Ready after',
      f.notReady > 0 ? `${f.notReady} NOT READY` : seconds(f.totalMs),
      `target: 1,000 in ≤ 20 s (≥ 50/s)`,
    ),
  );
  out.push(row('workspaces per second', fixed(rate, 1), `≥ 50/s  ${verdict(rate >= 50)}`));
  out.push(row('time to Ready p50 (create response → Ready)', ms(p50), `≤ 150 ms  ${verdict(p50 <= 150)}`));
  out.push(row('time to Ready p99', ms(p99), `≤ 1 s  ${verdict(p99 <= 1000)}`));
  out.push(row('time to Ready max', ms(quantile(ready, 1))));
  out.push(
    row(
      'creating client: all created after',
      seconds(f.createdAllMs),
      `create p50 ${ms(quantile(f.createLatencies, 0.5))}, p99 ${ms(quantile(f.createLatencies, 0.99))}`,
    ),
  );
  if (f.floor) {
    const ratio = f.totalMs / f.floor.totalMs;
    out.push(
      row(
        `floor: plain script, ${f.workers} at a time, all Ready after`,
        seconds(f.floor.totalMs),
        `${fixed(n / (f.floor.totalMs / 1000), 1)}/s${f.floor.watched ? ', timed by the same watch' : ', by its own answers (no watch)'}`,
      ),
    );
    out.push(
      row(
        'floor: create response → Ready status written',
        `p50 ${ms(quantile(f.floor.latencies, 0.5))}`,
        `p99 ${ms(quantile(f.floor.latencies, 0.99))}`,
      ),
    );
    out.push(row('ours / floor (total time)', fixed(ratio), `≤ 1.2  ${verdict(ratio <= 1.2)}`));
  }

  out.push('');
  out.push('Work per workspace (operator /metrics over the burst; floor counted the same way)');
  requestLines(out, f.counts, n, 'ours');
  if (f.floor) requestLines(out, f.floor.counts, n, 'floor');
  if (f.apiServer) out.push(...apiServerLines(f.apiServer, n, 'ours'));
  if (f.floor?.apiServer) out.push(...apiServerLines(f.floor.apiServer, n, 'floor'));
  const reconciles = byLabel(f.counts, 'controller_runtime_reconcile_total', 'controller');
  out.push(row('reconciles per workspace', perWorkspace(reconciles, n)));
  const errors = byLabel(
    f.counts,
    'controller_runtime_reconcile_total',
    'controller',
    (l) => l.result === 'error',
  );
  if ([...errors.values()].some((v) => v > 0))
    out.push(row('reconciles that failed and were retried', perWorkspace(errors, 1)));

  out.push('');
  out.push('Where the time went');
  const ours = cpuLines(out, 'the burst', f.cpu);
  if (f.floor) {
    const floor = cpuLines(out, 'the floor (its script is the benchmark process)', f.floor.cpu);
    const perWs = (m: Map<string, number>) =>
      [...m.entries()]
        .filter(([, s]) => s >= (0.05 * f.n) / 1000)
        .map(([name, s]) => `${name} ${fixed((1000 * s) / f.n, 1)}`)
        .join(', ');
    out.push(row('  CPU ms per workspace, ours', '', perWs(ours)));
    out.push(row('  CPU ms per workspace, floor', '', perWs(floor)));
  }
  for (const controller of ['workspace', 'account']) {
    const count = total(
      f.counts,
      'controller_runtime_reconcile_time_seconds_count',
      (l) => l.controller === controller,
    );
    const sum = total(
      f.counts,
      'controller_runtime_reconcile_time_seconds_sum',
      (l) => l.controller === controller,
    );
    if (count > 0)
      out.push(
        row(
          `  ${controller} reconcile: mean time`,
          ms((1000 * sum) / count),
          `${count} reconciles, peak queue depth ${f.peakDepth.get(controller) ?? 0}`,
        ),
      );
  }
  const verbs = byLabel(f.counts, 'workspace_operator_api_request_duration_seconds_count', 'verb', notWatch);
  const latencyByVerb = [...verbs.entries()]
    .filter(([, c]) => c > 0)
    .map(([verb, c]) => {
      const s = total(
        f.counts,
        'workspace_operator_api_request_duration_seconds_sum',
        (l) => l.verb === verb,
      );
      return `${verb} ${ms((1000 * s) / c)}`;
    });
  out.push(row('  operator API request latency (mean)', '', latencyByVerb.join(', ')));

  out.push('');
  out.push('Memory (operator process)');
  const growth = f.memory.after - f.memory.before;
  const perObject = growth / (n * CACHED_PER_WORKSPACE);
  const heapGrowth = gauge(f.counts, 'nodejs_heap_size_used_bytes');
  out.push(row('peak RSS (VmHWM)', mb(f.memory.peak)));
  out.push(
    row(
      'V8 heap used at the end',
      mb(gauge(f.final, 'nodejs_heap_size_used_bytes')),
      `heap total ${mb(gauge(f.final, 'nodejs_heap_size_total_bytes'))} (young generation ${mb(gauge(f.final, 'nodejs_heap_space_size_total_bytes', { space: 'new' }))}), external ${mb(gauge(f.final, 'nodejs_external_memory_bytes'))}`,
    ),
  );
  out.push(
    row(
      'RSS before the burst → after',
      `${mb(f.memory.before)} → ${mb(f.memory.after)}`,
      f.idle ? `${mb(f.memory.afterIdle)} after the idle period` : '',
    ),
  );
  out.push(
    row(
      `RSS growth per cached object (${CACHED_PER_WORKSPACE} per workspace)`,
      `${fixed(perObject / 1024, 1)} KB`,
      `≤ 3 KB  ${verdict(perObject <= 3072)} (upper bound: includes garbage not yet collected)`,
    ),
  );
  if (Number.isFinite(heapGrowth))
    out.push(
      row(
        'V8 heap used growth per cached object',
        `${fixed(heapGrowth / (n * CACHED_PER_WORKSPACE) / 1024, 1)} KB`,
      ),
    );
  const at10k = f.memory.before + (growth / n) * 10_000;
  out.push(
    row(
      n >= 10_000
        ? 'RSS at 10,000 workspaces (measured)'
        : 'RSS at 10,000 workspaces (extrapolated linearly)',
      mb(at10k),
      `≤ 150 MB  ${verdict(at10k <= 150 * 1024 * 1024)}`,
    ),
  );

  if (f.idle) {
    out.push('');
    out.push(`Idle (${f.idle.seconds} s, nothing changing)`);
    const writes = total(
      f.idle.counts,
      'workspace_operator_api_requests_total',
      (l) => isWrite(l) && l.resource !== 'leases',
    );
    const leases = total(
      f.idle.counts,
      'workspace_operator_api_requests_total',
      (l) => isWrite(l) && l.resource === 'leases',
    );
    const reads = total(
      f.idle.counts,
      'workspace_operator_api_requests_total',
      (l) => (l.verb === 'get' || l.verb === 'list') && l.resource !== 'leases',
    );
    const sql = total(f.idle.counts, 'workspace_operator_sql_statements_total');
    out.push(row('API writes (Lease renewals excluded)', String(writes), `0  ${verdict(writes === 0)}`));
    out.push(row('Lease renewals (leader election)', String(leases)));
    out.push(row('API reads other than the Lease', String(reads)));
    out.push(row('SQL statements', String(sql), `0  ${verdict(sql === 0)}`));
  }
  out.push('');
  out.push(`Operator exit code after SIGTERM: ${f.operatorExit}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

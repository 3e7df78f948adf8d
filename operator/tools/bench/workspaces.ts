/**
 * The workspace benchmark (SPEC 7): a burst of Workspaces applied to a running operator, measured from outside.
 * It prints figures next to their targets and asserts nothing.
 *
 *   npm run bench -- [--workspaces 200] [--accounts 10] [--idle 60] [--concurrency 32]
 *                    ["--node-args=--cpu-prof --cpu-prof-dir=/tmp/prof"] [--skip-floor] [--floor-unwatched]
 *                    [--restart]
 *
 * It starts the local platform as the tests do (or uses KUBECONFIG and DATABASE_URL when both are set), runs the
 * floor (floor.ts: the same writes and SQL from a plain script), then the operator as a child process from
 * dist/main.js, creates the accounts, waits for them, and applies the workspaces as fast as the creating client
 * allows. Its own watch records, per workspace, the time from the create's response to the first Ready=True for
 * the current generation. The operator's /metrics give API requests and SQL per workspace, /proc its peak memory
 * and the CPU time of every process of the platform. Then nothing changes for `--idle` seconds, and whatever the
 * operator writes or queries meanwhile is counted. With --restart, the operator is then stopped with SIGTERM and a
 * new one started on the same workspaces: its time to synced and to its first idle second, and every DDL
 * statement, API write and list it sends meanwhile (restart.ts).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { Database } from '../../src/db/database.js';
import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import { Resources } from '../../src/kube/resources.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { cleanUpExternal } from './cleanup.js';
import { delay, eachLimit, onShutdown, progress, wholeNumber } from './common.js';
import { prepareFloorAccounts, runFloor } from './floor.js';
import { accountBody, spread, workspaceBody } from './objects.js';
import {
  IMAGE_NODE_FLAGS,
  benchOperatorEnv,
  startOperatorProcess,
  operatorLogTail,
  type OperatorProcess,
} from './operator-process.js';
import { apiServerMetrics } from './apiserver.js';
import { restartLines, restartPhase, type RestartFigures } from './restart.js';
import { startPlatform, type BenchPlatform } from './platform.js';
import { difference, gauge, parseExposition, total, type Sample } from './prometheus.js';
import { machineBusySeconds, treeCpuSeconds } from './procfs.js';
import { ReadinessTracker } from './readiness.js';
import { printReport, type BenchFigures, type CpuReading } from './report.js';

const { values: args } = parseArgs({
  options: {
    workspaces: { type: 'string', default: '200' },
    accounts: { type: 'string', default: '10' },
    idle: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '32' },
    'node-args': { type: 'string', default: '' },
    'skip-floor': { type: 'boolean', default: false },
    restart: { type: 'boolean', default: false },
    'floor-unwatched': { type: 'boolean', default: false },
  },
});

const N = wholeNumber('workspaces', args.workspaces);
const K = wholeNumber('accounts', args.accounts);
const IDLE_S = wholeNumber('idle', args.idle, 0);
const C = wholeNumber('concurrency', args.concurrency);
const UNWATCHED_FLOOR = args['floor-unwatched'];
const NODE_ARGS = args['node-args'].split(' ').filter((a) => a !== '');
// The operator runs with its defaults; the floor uses the same numbers, read from the same configuration code.
const DEFAULTS = loadConfig({ DATABASE_URL: 'postgres://localhost/defaults' });
const WORKERS = DEFAULTS.workers;
const RUN = randomBytes(3).toString('hex');
const RUN_LABEL = 'bench.taskjuice.io/run';
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'apply', 'delete']);

let platform: BenchPlatform | undefined;
let operator: OperatorProcess | undefined;
let kube: KubeClient | undefined;
const trackers: ReadinessTracker[] = [];
const cleanup = onShutdown(async () => {
  for (const t of trackers.splice(0)) await t.stop();
  if (platform && !platform.local && kube) {
    await cleanUpExternal(new Api(kube), platform.databaseUrl, RUN, RUN_LABEL).catch((err: unknown) =>
      progress(`cleanup: ${String(err)}`),
    );
  }
  await operator?.stop();
  operator = undefined;
  kube?.close();
  await platform?.stop();
  platform = undefined;
});

function cpuReading(p: BenchPlatform, op: OperatorProcess | undefined): CpuReading {
  const usage = process.cpuUsage();
  const reading: CpuReading = { at: performance.now(), seconds: new Map(), machine: 0 };
  for (const [name, pid] of p.pids) reading.seconds.set(name, treeCpuSeconds(pid));
  if (op) reading.seconds.set('operator', treeCpuSeconds(op.pid));
  reading.seconds.set('benchmark (client, watch)', (usage.user + usage.system) / 1e6);
  reading.machine = machineBusySeconds();
  return reading;
}

/** Waits until the operator's API writes stop changing (trailing Events and account status), at most 5 s. */
async function settle(op: OperatorProcess): Promise<Sample[]> {
  let last = await op.metrics();
  const writes = (s: Sample[]) =>
    total(
      s,
      'workspace_operator_api_requests_total',
      (l) => WRITE_VERBS.has(l.verb ?? '') && l.resource !== 'leases',
    );
  for (let i = 0; i < 10; i++) {
    await delay(500);
    const next = await op.metrics();
    if (writes(next) === writes(last)) return next;
    last = next;
  }
  return last;
}

/** The API server's metrics over one phase, when the benchmark started the platform (it may read them then). */
async function serverCounts(
  scrape: (() => Promise<Sample[]>) | undefined,
): Promise<() => Promise<Sample[] | undefined>> {
  const before = await scrape?.();
  return async () => (scrape && before ? difference(before, await scrape()) : undefined);
}

async function floorPhase(
  p: BenchPlatform,
  api: Api,
  floorMetrics: Metrics,
  apiServer: (() => Promise<Sample[]>) | undefined,
): Promise<BenchFigures['floor']> {
  const labels = { [RUN_LABEL]: `${RUN}-floor` };
  const accounts = await prepareFloorAccounts(
    api,
    Array.from({ length: K }, (_, i) => `floor-${RUN}-a${i}`),
    labels,
  );
  const { database } = loadConfig({ DATABASE_URL: p.databaseUrl });
  const db = new Database({
    ...database,
    url: p.databaseUrl,
    log: silentLogger,
    metrics: floorMetrics,
  });
  try {
    await db.bootstrap();
    await db.ping();
    progress(`floor: ${N} workspaces, plain script, ${WORKERS} at a time (creating client: ${C})`);
    const before = parseExposition(await floorMetrics.registry.metrics());
    // The floor is timed by the same watch as the operator, which costs the API server the same to serve; with
    // --floor-unwatched, by its own answers and with no watch (the comparison of issue 12 as it was filed).
    const tracker = UNWATCHED_FLOOR
      ? undefined
      : new ReadinessTracker(api, Resources.Workspace, `${RUN_LABEL}=${RUN}-floor`, silentLogger);
    if (tracker) {
      trackers.push(tracker);
      await tracker.start();
    }
    const workspaces = spread(
      accounts.map((a) => a.name),
      N,
    );
    const cpuBefore = cpuReading(p, undefined);
    const serverDuring = await serverCounts(apiServer);
    const started = performance.now();
    const result = await runFloor({
      api,
      db,
      accounts,
      workspaces,
      labels,
      createConcurrency: C,
      workers: WORKERS,
      endpoint: { host: database.clientHost, port: database.clientPort, database: database.databaseName },
      staffClusterRole: DEFAULTS.rbac.staffClusterRole,
      workspaceBounds: DEFAULTS.workspaces,
    });
    let totalMs = result.totalMs;
    if (tracker) {
      const keys = workspaces.map(([a, s]) => `${a}/${s}`);
      const missing = await tracker.waitFor(keys, 30_000);
      if (missing.length > 0) throw new Error(`floor: ${missing.length} workspaces never seen Ready`);
      totalMs = Math.max(...keys.map((k) => tracker.readyAt.get(k) ?? 0)) - started;
    }
    const cpuAfter = cpuReading(p, undefined);
    const server = await serverDuring();
    if (tracker) {
      await tracker.stop();
      trackers.splice(trackers.indexOf(tracker), 1);
    }
    await delay(1_000); // the Events it did not wait for
    const after = parseExposition(await floorMetrics.registry.metrics());
    progress(`floor: done in ${(totalMs / 1000).toFixed(2)} s`);
    return {
      ...result,
      totalMs,
      watched: tracker !== undefined,
      counts: difference(before, after),
      cpu: { before: cpuBefore, after: cpuAfter },
      apiServer: server,
    };
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  progress(
    `workspace benchmark: ${N} workspaces in ${K} accounts, creating concurrency ${C}, idle ${IDLE_S} s (run ${RUN})`,
  );
  platform = await startPlatform();
  kube = await KubeClient.fromFile(platform.kubeconfig, { maxSockets: Math.max(64, C + 16) });
  const floorMetrics = new Metrics();
  kube.onRequest(floorMetrics.observeApiRequest);
  const api = new Api(kube);
  const systemNamespace = `bench-system-${RUN}`;
  await api.create(Resources.Namespace, {
    metadata: { name: systemNamespace, labels: { [RUN_LABEL]: RUN } },
  });

  const apiServer = platform.local ? apiServerMetrics(platform.kubeconfig) : undefined;
  const floor = args['skip-floor'] ? undefined : await floorPhase(platform, api, floorMetrics, apiServer);

  progress(`starting the operator: node ${[...IMAGE_NODE_FLAGS, ...NODE_ARGS, 'dist/main.js'].join(' ')}`);
  const selector = `${RUN_LABEL}=${RUN}`;
  const operatorOptions = {
    runDir: platform.runDir,
    kubeconfig: platform.kubeconfig,
    databaseUrl: platform.databaseUrl,
    nodeArgs: NODE_ARGS,
    env: { ...benchOperatorEnv(RUN, selector, systemNamespace) },
  };
  let op = await startOperatorProcess(operatorOptions);
  operator = op;
  progress(`operator running as pid ${op.pid} (log ${op.logFile})`);

  const log = createLogger('warn', process.stderr);
  const labels = { [RUN_LABEL]: RUN };
  const accountNames = Array.from({ length: K }, (_, i) => `bench-${RUN}-a${i}`);
  const accountTracker = new ReadinessTracker(api, Resources.Account, selector, log);
  const workspaceTracker = new ReadinessTracker(api, Resources.Workspace, selector, log);
  trackers.push(accountTracker, workspaceTracker);
  await Promise.all([accountTracker.start(), workspaceTracker.start()]);
  await eachLimit(accountNames, C, async (name) => {
    await api.create(Resources.Account, accountBody(name, labels));
  });
  const accountsLate = await accountTracker.waitFor(accountNames, 120_000);
  if (accountsLate.length > 0) {
    const why = await Promise.all(
      accountsLate.map(async (name) => {
        const a = (await api.get(Resources.Account, { name })) as
          { status?: { conditions?: { type: string; reason?: string; message?: string }[] } } | undefined;
        const ready = a?.status?.conditions?.find((c) => c.type === 'Ready');
        return `${name}: ${ready?.reason ?? 'no status'} ${ready?.message ?? ''}`;
      }),
    );
    throw new Error(`accounts not Ready after 120 s:\n${why.join('\n')}\n${operatorLogTail(op)}`);
  }
  progress(`${K} accounts Ready`);
  await delay(1_000);

  const rssBefore = op.memory().current;
  const metricsBefore = await settle(op);
  const cpuBefore = cpuReading(platform, op);
  const serverDuring = await serverCounts(apiServer);
  const createdAt = new Map<string, number>();
  const createLatencies: number[] = [];
  const list = spread(accountNames, N);
  const keys = list.map(([a, s]) => `${a}/${s}`);
  const peakDepth = new Map<string, number>();
  const started = performance.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await delay(1_000);
      if (!sampling) break;
      const m = await op.metrics().catch(() => [] as Sample[]);
      for (const name of ['workspace', 'account']) {
        const d = gauge(m, 'workqueue_depth', { name });
        if (Number.isFinite(d)) peakDepth.set(name, Math.max(peakDepth.get(name) ?? 0, d));
      }
      progress(
        `created ${createdAt.size}/${N}, Ready ${workspaceTracker.readyAt.size}/${N}, workspace queue ${gauge(m, 'workqueue_depth', { name: 'workspace' })}`,
      );
    }
  })();
  let createdAll = 0;
  await eachLimit(list, C, async ([account, slug]) => {
    const t = performance.now();
    await api.create(Resources.Workspace, workspaceBody(account, slug, labels));
    const now = performance.now();
    createLatencies.push(now - t);
    createdAt.set(`${account}/${slug}`, now);
  });
  createdAll = performance.now() - started;
  const missing = await workspaceTracker.waitFor(keys, 120_000 + N * 200);
  sampling = false;
  await sampler;
  const lastReady = Math.max(
    ...keys.map((k) => workspaceTracker.readyAt.get(k) ?? Number.NaN).filter(Number.isFinite),
  );
  const cpuAfter = cpuReading(platform, op);
  const serverCountsBurst = await serverDuring();
  if (missing.length > 0)
    progress(`${missing.length} workspaces not Ready in time, e.g. ${missing.slice(0, 3).join(', ')}`);
  else progress(`all ${N} workspaces Ready after ${((lastReady - started) / 1000).toFixed(2)} s`);
  const metricsAfter = await settle(op);
  const rssAfter = op.memory().current;

  let idle: BenchFigures['idle'];
  if (IDLE_S > 0) {
    progress(`idle: ${IDLE_S} s with nothing changing`);
    const idleStart = await op.metrics();
    await delay(IDLE_S * 1000);
    idle = { seconds: IDLE_S, counts: difference(idleStart, await op.metrics()) };
  }
  const memory = op.memory();
  const finalMetrics = await op.metrics();

  const latencies = keys
    .filter((k) => workspaceTracker.readyAt.has(k) && createdAt.has(k))
    .map((k) => (workspaceTracker.readyAt.get(k) as number) - (createdAt.get(k) as number));

  let restart: RestartFigures | undefined;
  if (args.restart) {
    const restarted = await restartPhase(op, operatorOptions, progress);
    op = restarted.operator;
    operator = op;
    restart = restarted.figures;
  }

  progress('stopping the operator (SIGTERM)');
  const code = await op.stop();
  operator = undefined;

  printReport({
    n: N,
    accounts: K,
    concurrency: C,
    workers: WORKERS,
    local: platform.local,
    totalMs: missing.length === 0 ? lastReady - started : Number.NaN,
    notReady: missing.length,
    createdAllMs: createdAll,
    createLatencies,
    latencies,
    counts: difference(metricsBefore, metricsAfter),
    final: finalMetrics,
    cpu: { before: cpuBefore, after: cpuAfter },
    memory: { peak: memory.peak, before: rssBefore, after: rssAfter, afterIdle: memory.current },
    peakDepth,
    idle,
    floor,
    apiServer: serverCountsBurst,
    operatorExit: code,
  });
  if (restart) process.stdout.write(`${restartLines(restart, N).join('\n')}\n`);
}

main()
  .then(() => cleanup())
  .catch(async (err: unknown) => {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exitCode = 1;
  });

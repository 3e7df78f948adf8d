import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../local/install.js';
import { freePort, startProcess, tail, waitFor, type Managed } from '../local/processes.js';
import { progress } from './common.js';
import { scrape, type Sample } from './prometheus.js';
import { memoryOf } from './procfs.js';
import { PLAN_CATALOG } from './objects.js';

/**
 * The operator as production runs it: the compiled entry point (`npm run build`, then `node dist/main.js`) in a
 * process of its own, configured only through its environment (operator/src/config.ts).
 */
export interface OperatorProcess {
  pid: number;
  logFile: string;
  metrics(): Promise<Sample[]>;
  /** Peak resident set (VmHWM) and current resident set (VmRSS), in bytes. */
  memory(): { peak: number; current: number };
  stop(): Promise<number | null>;
}

export const ENTRY = join(REPO_ROOT, 'dist', 'main.js');

/**
 * What the image's ENTRYPOINT gives node before dist/main.js (the Dockerfile; a test holds the two together), so
 * that the benchmarks measure the process production runs. The young generation is capped: by default V8 lets it
 * grow to 32 MB during a burst and keeps it, a fifth of the operator's resident memory at 1,000 workspaces, while
 * what the operator allocates per request dies young anyway.
 */
export const IMAGE_NODE_FLAGS = ['--enable-source-maps', '--max-semi-space-size=8'];

export interface OperatorProcessOptions {
  runDir: string;
  kubeconfig: string;
  databaseUrl: string;
  env: Record<string, string>;
  /** Extra options for node itself, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  nodeArgs?: string[];
  /** How long the first /readyz 200 may take (default 60 s). */
  readyTimeoutMs?: number;
}

export async function startOperatorProcess(opts: OperatorProcessOptions): Promise<OperatorProcess> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run npm run build first`);
  const age = (Date.now() - statSync(ENTRY).mtimeMs) / 60_000;
  if (age > 60) progress(`note: ${ENTRY} was built ${age.toFixed(0)} minutes ago; npm run bench rebuilds it`);
  const healthPort = await freePort();
  const metricsPort = await freePort();
  const child: Managed = startProcess(
    opts.runDir,
    'operator',
    process.execPath,
    [...IMAGE_NODE_FLAGS, ...(opts.nodeArgs ?? []), ENTRY],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        KUBECONFIG: opts.kubeconfig,
        DATABASE_URL: opts.databaseUrl,
        HTTP_BIND_ADDRESS: '127.0.0.1',
        HEALTH_PORT: String(healthPort),
        METRICS_PORT: String(metricsPort),
        // Ports of their own, so that two operators of one run (or two runs) never meet on the defaults.
        WEBHOOK_PORT: '0',
        ACCEPT_PORT: '0',
        ...opts.env,
      },
    },
  );
  const pid = child.child.pid;
  if (pid === undefined) throw new Error(`the operator did not start; see ${child.logFile}`);
  await waitFor(
    'operator /readyz',
    async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200,
    { timeoutMs: opts.readyTimeoutMs ?? 60_000, process: child },
  );
  return {
    pid,
    logFile: child.logFile,
    metrics: () => scrape(`http://127.0.0.1:${metricsPort}/metrics`),
    memory: () => ({ peak: memoryOf(pid, 'VmHWM'), current: memoryOf(pid, 'VmRSS') }),
    async stop() {
      // SIGTERM: the operator finishes reconciles in flight, releases its Lease and exits (and writes a CPU profile).
      await child.stop(20_000);
      return child.exited;
    },
  };
}

/** The last lines of the operator's log, for a failure message. */
export const operatorLogTail = (p: OperatorProcess): string => tail(p.logFile, 20);

/**
 * The environment every benchmark runs the operator with: the benchmark's plan catalog, only the run's objects
 * watched, no webhook, and its Lease and namespace in the run's system namespace.
 */
export function benchOperatorEnv(
  run: string,
  selector: string,
  systemNamespace: string,
): Record<string, string> {
  return {
    PLAN_CATALOG,
    WATCH_LABEL_SELECTOR: selector,
    WEBHOOK_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    LEADER_ELECTION_NAMESPACE: systemNamespace,
    POD_NAMESPACE: systemNamespace,
    LEADER_ELECTION_ID: `bench-${run}`,
  };
}

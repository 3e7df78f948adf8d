import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startProcess, tail, type Managed } from '../local/processes.js';
import { REPO_ROOT } from '../local/install.js';
import { scrape, type Sample } from '../bench/prometheus.js';
import { memoryOf } from '../bench/procfs.js';

/**
 * One operator replica as a Deployment's pod would run it: the compiled entry point in a process of its own, with a
 * stable POD_NAME (a container kubelet restarts keeps its pod, so its Lease identity), restarted at once whenever
 * it exits. Exits the chaos tool caused (`kill`) are counted apart from the ones it did not (`crashes`).
 */
export interface ReplicaOptions {
  runDir: string;
  name: string;
  kubeconfig: string;
  databaseUrl: string;
  env: Record<string, string>;
  /** Node options, e.g. the operator built from source through tsx in tests. */
  entry?: { command: string; args: string[] };
}

export const DIST_ENTRY = join(REPO_ROOT, 'dist', 'main.js');

export class Replica {
  kills = 0;
  crashes = 0;
  /** Exits because the Lease could not be renewed in time (the API server was away): by design, not crashes. */
  leaseExits = 0;
  /** Why each unplanned exit happened: the exit code and the operator's last fatal log line. */
  readonly crashReasons: string[] = [];
  private process: Managed | undefined;
  private metricsPort = 0;
  private healthPort = 0;
  private planned = new WeakSet<Managed>();
  private stopped = false;
  private generation = 0;

  constructor(private readonly opts: ReplicaOptions) {}

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  get logFile(): string {
    return join(this.opts.runDir, `${this.opts.name}-${this.generation}.log`);
  }

  async start(): Promise<void> {
    if (!this.opts.entry && !existsSync(DIST_ENTRY))
      throw new Error(`${DIST_ENTRY} is missing: run npm run build`);
    this.stopped = false;
    this.metricsPort = await freePort();
    this.healthPort = await freePort();
    this.generation++;
    const entry = this.opts.entry ?? { command: process.execPath, args: [DIST_ENTRY] };
    const p = startProcess(
      this.opts.runDir,
      `${this.opts.name}-${this.generation}`,
      entry.command,
      entry.args,
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          KUBECONFIG: this.opts.kubeconfig,
          DATABASE_URL: this.opts.databaseUrl,
          HTTP_BIND_ADDRESS: '127.0.0.1',
          HEALTH_PORT: String(this.healthPort),
          METRICS_PORT: String(this.metricsPort),
          POD_NAME: this.opts.name,
          LOG_LEVEL: 'info',
          ...this.opts.env,
        },
      },
    );
    this.process = p;
    void p.exited.then(async (code) => {
      if (this.planned.has(p) || this.stopped) return;
      // The exit event can come before the last lines reach the log through the pipe.
      await new Promise((r) => setTimeout(r, 300));
      const lines = tail(p.logFile, 60).split('\n');
      if (lines.some((l) => l.includes('lost the leader Lease'))) {
        // By design (controller-runtime's managers do the same): the restart is kubelet's, not a crash.
        this.leaseExits++;
      } else {
        this.crashes++;
        const fatal =
          lines.find((l) => /^\w*Error\b/.test(l)) ??
          lines.filter((l) => /"level":(50|60)/.test(l)).slice(-1)[0];
        const unhandled = lines.some((l) => l.includes("Unhandled 'error' event"))
          ? "unhandled 'error' event: "
          : '';
        this.crashReasons.push(`exit ${code}: ${unhandled}${(fatal ?? '').slice(0, 300)}`);
      }
      if (this.process === p) void this.start();
    });
  }

  /** Sends a signal; SIGKILL and SIGTERM wait for the exit and start a new process, as kubelet would. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const p = this.process;
    if (!p) return;
    this.planned.add(p);
    this.kills++;
    p.child.kill(signal);
    await p.exited;
    if (!this.stopped) await this.start();
  }

  /** SIGKILL without a restart (the operator is down until `start`). */
  async down(): Promise<void> {
    const p = this.process;
    if (!p) return;
    this.planned.add(p);
    this.kills++;
    this.process = undefined;
    p.child.kill('SIGKILL');
    await p.exited;
  }

  pause(): void {
    this.process?.child.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.child.kill('SIGCONT');
  }

  /** Resolves with the exit code when the current process ends by itself (or after `timeoutMs`, with undefined). */
  async exitWithin(timeoutMs: number): Promise<number | null | undefined> {
    const p = this.process;
    if (!p) return undefined;
    this.planned.add(p);
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      p.exited,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs))),
    ]);
    clearTimeout(timer);
    return result;
  }

  async ready(): Promise<boolean> {
    try {
      return (await fetch(`http://127.0.0.1:${this.healthPort}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }

  metrics(): Promise<Sample[]> {
    return scrape(`http://127.0.0.1:${this.metricsPort}/metrics`);
  }

  rss(): number {
    const pid = this.pid;
    return pid === undefined ? Number.NaN : memoryOf(pid, 'VmRSS');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const p = this.process;
    this.process = undefined;
    if (!p) return;
    p.child.kill('SIGCONT');
    await p.stop(15_000);
  }
}

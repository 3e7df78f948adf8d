import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Child processes of the local platform (etcd, kube-apiserver, controller manager, PostgreSQL). Every process is
 * recorded in its run folder; on exit the runner kills them, and a later start reaps the processes of a run
 * whose owner died without cleaning up, so no process is left behind.
 */

const RUNS = join(tmpdir(), 'workspace-operator-runs');
const live = new Set<ChildProcess>();
let hooksInstalled = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what earlier runs left behind when their owner process is gone. */
export function reapStaleRuns(): void {
  if (!existsSync(RUNS)) return;
  for (const entry of readdirSync(RUNS)) {
    const dir = join(RUNS, entry);
    const ownerFile = join(dir, 'owner.pid');
    if (!existsSync(ownerFile)) continue;
    const owner = Number(readFileSync(ownerFile, 'utf8'));
    if (alive(owner)) continue;
    const pidsFile = join(dir, 'children.pid');
    if (existsSync(pidsFile)) {
      for (const line of readFileSync(pidsFile, 'utf8').split('\n')) {
        const pid = Number(line);
        if (pid > 0 && alive(pid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** A fresh folder for one run of the local platform. */
export function newRunDir(label: string): string {
  reapStaleRuns();
  mkdirSync(RUNS, { recursive: true, mode: 0o755 });
  const dir = join(RUNS, `${label}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  return dir;
}

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

export function startProcess(
  runDir: string,
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string } = {},
): Managed {
  installHooks();
  const logFile = join(runDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    uid: opts.uid,
    gid: opts.gid,
    cwd: opts.cwd ?? runDir,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  live.add(child);
  if (child.pid !== undefined) writeFileSync(join(runDir, 'children.pid'), `${child.pid}\n`, { flag: 'a' });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
    child.on('error', () => {
      live.delete(child);
      resolve(-1);
    });
  });
  return {
    name,
    child,
    logFile,
    exited,
    async stop(timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last lines of a log, for an error message when a process fails to start. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A port that was free a moment ago on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns true, or fails with `what` and the log tail after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; process?: Managed },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.process && opts.process.child.exitCode !== null) {
      throw new Error(
        `${what}: ${opts.process.name} exited with ${opts.process.child.exitCode}\n${tail(opts.process.logFile)}`,
      );
    }
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: not ready after ${opts.timeoutMs} ms\n${opts.process ? tail(opts.process.logFile) : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

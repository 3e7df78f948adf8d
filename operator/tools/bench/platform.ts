import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import { installPrerequisites, startLocalControlPlane, waitForQuotaController } from '../local/install.js';
import { startPostgres } from '../local/postgres.js';
import { newRunDir } from '../local/processes.js';
import { progress } from './common.js';
import { commandOf } from './procfs.js';

/**
 * What the benchmark runs against: the local platform the tests use (etcd, kube-apiserver,
 * kube-controller-manager and PostgreSQL on loopback, CRDs and ClusterRoles installed before the controller
 * manager starts), or, when KUBECONFIG and DATABASE_URL are both set, that cluster and that database.
 */
export interface BenchPlatform {
  kubeconfig: string;
  databaseUrl: string;
  /** True when the benchmark started the platform (and so may measure its processes and throw it away). */
  local: boolean;
  runDir: string;
  /** Process ids of the platform's servers by command name, for CPU accounting (local platform only). */
  pids: Map<string, number>;
  stop(): Promise<void>;
}

export async function startPlatform(): Promise<BenchPlatform> {
  const runDir = newRunDir('bench');
  const external = process.env.KUBECONFIG && process.env.DATABASE_URL;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    let kubeconfig: string;
    let databaseUrl: string;
    if (external) {
      kubeconfig = process.env.KUBECONFIG ?? '';
      databaseUrl = process.env.DATABASE_URL ?? '';
      progress(`using the cluster of KUBECONFIG and the database of DATABASE_URL`);
    } else {
      const cp = await startLocalControlPlane(runDir, progress);
      stops.push(cp.stop);
      kubeconfig = cp.kubeconfigPath;
      const db = await startPostgres(runDir, progress);
      stops.push(db.stop);
      databaseUrl = db.operatorUrl;
    }
    const client = await KubeClient.fromFile(kubeconfig);
    try {
      const api = new Api(client);
      await installPrerequisites(api);
      await waitForQuotaController(api, progress);
    } finally {
      client.close();
    }
    return {
      kubeconfig,
      databaseUrl,
      local: !external,
      runDir,
      pids: external ? new Map() : platformPids(runDir),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The servers the run folder recorded (processes.ts writes every child's pid there), by command name. */
function platformPids(runDir: string): Map<string, number> {
  const file = join(runDir, 'children.pid');
  const pids = new Map<string, number>();
  if (!existsSync(file)) return pids;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const pid = Number(line);
    const name = pid > 0 ? commandOf(pid) : undefined;
    if (name && !pids.has(name)) pids.set(name, pid);
  }
  return pids;
}

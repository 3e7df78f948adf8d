import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import type { ControlPlane } from '../local/controlplane.js';
import { startLocalControlPlane, waitForQuotaController } from '../local/install.js';
import { startPostgres, type LocalPostgres } from '../local/postgres.js';
import { newRunDir } from '../local/processes.js';
import { progress } from '../bench/common.js';

/**
 * The chaos tool always starts a platform of its own (it stops PostgreSQL and kube-apiserver), the one the tests
 * use: etcd, kube-apiserver, kube-controller-manager and PostgreSQL on loopback, with the handles to restart them.
 */
export interface ChaosPlatform {
  runDir: string;
  controlPlane: ControlPlane;
  postgres: LocalPostgres;
  kube: KubeClient;
  api: Api;
  stop(): Promise<void>;
}

export async function startChaosPlatform(): Promise<ChaosPlatform> {
  const runDir = newRunDir('chaos');
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
  };
  try {
    const controlPlane = await startLocalControlPlane(runDir, progress);
    stops.push(controlPlane.stop);
    // Commits wait for their WAL flush: `-m immediate` must not lose rows a client saw committed (the test server's
    // synchronous_commit=off would, and that would be the server's doing, not the operator's).
    const postgres = await startPostgres(runDir, progress, { settings: { synchronous_commit: 'on' } });
    stops.push(() => postgres.stop());
    const kube = await KubeClient.fromFile(controlPlane.kubeconfigPath, { maxSockets: 96 });
    stops.push(async () => kube.close());
    const api = new Api(kube);
    await waitForQuotaController(api, progress);
    return { runDir, controlPlane, postgres, kube, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

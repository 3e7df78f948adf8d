/**
 * Starts, once per test run, what the integration tests run against: a real control plane (etcd,
 * kube-apiserver, kube-controller-manager) and a real PostgreSQL, both on loopback, with the CRDs installed.
 * With KUBECONFIG set the tests use that cluster instead, and with DATABASE_URL that database.
 */
import type { TestProject } from 'vitest/node';
import { installPrerequisites, startLocalControlPlane } from '../../operator/tools/local/install.js';
import { startPostgres } from '../../operator/tools/local/postgres.js';
import { newRunDir } from '../../operator/tools/local/processes.js';
import { waitForQuotaController } from '../../operator/tools/local/install.js';
import { Api } from '../../operator/src/kube/api.js';
import { KubeClient } from '../../operator/src/kube/client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    databaseUrl: string;
    /** A superuser connection, when the tests started the database themselves. */
    databaseAdminUrl: string;
    postgresLog: string;
    runDir: string;
    /**
     * Files of the API server's webhook client certificate and of the CA that signs it, when the tests started
     * the control plane (empty strings with KUBECONFIG: that cluster's API server is not known to present one).
     */
    webhookClient: { caFile: string; certFile: string; keyFile: string; name: string };
  }
}

const say = (line: string) => process.stderr.write(`[test setup] ${line}\n`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const runDir = newRunDir('test');
  const stops: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    let kubeconfig = process.env.KUBECONFIG;
    let webhookClient = { caFile: '', certFile: '', keyFile: '', name: '' };
    if (!kubeconfig) {
      const cp = await startLocalControlPlane(runDir, say);
      stops.push(cp.stop);
      kubeconfig = cp.kubeconfigPath;
      webhookClient = cp.webhookClient;
    } else say(`using the cluster of KUBECONFIG=${kubeconfig}`);

    let databaseUrl = process.env.DATABASE_URL;
    let databaseAdminUrl = '';
    let postgresLog = '';
    if (!databaseUrl) {
      const db = await startPostgres(runDir, say);
      stops.push(db.stop);
      databaseUrl = db.operatorUrl;
      databaseAdminUrl = db.adminUrl;
      postgresLog = db.logFile;
    } else say('using the database of DATABASE_URL');

    const client = await KubeClient.fromFile(kubeconfig);
    await installPrerequisites(new Api(client));
    await waitForQuotaController(new Api(client), say);
    client.close();

    project.provide('kubeconfig', kubeconfig);
    project.provide('databaseUrl', databaseUrl);
    project.provide('databaseAdminUrl', databaseAdminUrl);
    project.provide('postgresLog', postgresLog);
    project.provide('runDir', runDir);
    project.provide('webhookClient', webhookClient);
    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s (run folder ${runDir})`);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

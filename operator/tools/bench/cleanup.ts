import { loadConfig } from '../../src/config.js';
import { Database } from '../../src/db/database.js';
import { tenantNames } from '../../src/db/names.js';
import type { Api } from '../../src/kube/api.js';
import type { CachedObject } from '../../src/kube/informer.js';
import { Resources } from '../../src/kube/resources.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { eachLimit, progress } from './common.js';

/**
 * On a cluster and database the benchmark did not start (KUBECONFIG and DATABASE_URL), it removes what it made:
 * the tenants of every workspace it created (the operator's and the floor's), their finalizers, the workspaces,
 * the accounts (whose owner references take the workspace and home namespaces along) and its own namespaces.
 * A local platform is simply thrown away.
 */
export async function cleanUpExternal(
  api: Api,
  databaseUrl: string,
  run: string,
  label: string,
): Promise<void> {
  const selector = `${label} in (${run},${run}-floor)`;
  progress('cleanup: removing the benchmark objects and tenants');
  const { items } = await api.list(Resources.Workspace, { labelSelector: selector });
  const { database } = loadConfig({ DATABASE_URL: databaseUrl });
  const db = new Database({
    ...database,
    url: databaseUrl,
    log: silentLogger,
    metrics: new Metrics(),
  });
  try {
    await eachLimit(items as CachedObject[], 16, async (ws) => {
      const ref = { namespace: ws.metadata.namespace, name: ws.metadata.name };
      await db.dropTenant(tenantNames(database.namePrefix, ref.namespace ?? '', ref.name));
      await api.mergePatch(Resources.Workspace, ref, { metadata: { finalizers: null } });
      await api.delete(Resources.Workspace, ref);
    });
  } finally {
    await db.close();
  }
  for (const r of [Resources.Account, Resources.Namespace]) {
    const { items: objects } = await api.list(r, { labelSelector: selector });
    await eachLimit(objects as CachedObject[], 16, async (o) => {
      await api.delete(r, { name: o.metadata.name });
    });
  }
}

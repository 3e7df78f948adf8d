import { join } from 'node:path';
import { inject } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { PLAN_CATALOG } from '../../operator/tools/bench/objects.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { OPERATOR_DATABASE } from '../../operator/tools/local/postgres.js';
import { CHAOS_LABEL, Workload, inDatabase } from '../../operator/tools/chaos/workload.js';
import { uniqueName } from '../support/env.js';
import { testEnvironment } from '../support/operator.js';

/** The operator built from source, as test/support/process.ts runs it (npm test builds no dist/). */
export const SOURCE_ENTRY = {
  command: process.execPath,
  args: ['--import', 'tsx', join(REPO_ROOT, 'operator/src/main.ts')],
};

export interface ChaosFixture {
  scenario: string;
  leaseNamespace: string;
  workload: Workload;
  /** The environment of this file's operators (its objects only, its own schema prefix, short leases). */
  env: Record<string, string>;
}

/**
 * A chaos scenario of one test file on the shared test platform: accounts of its own and a schema prefix of its
 * own (so its catalog counts are its alone), the chaos tool's workload to create, delete and keep the books.
 */
export async function chaosFixture(
  api: Api,
  name: string,
  prefix: string,
  accounts = 1,
): Promise<ChaosFixture> {
  const scenario = uniqueName(name);
  const leaseNamespace = uniqueName('lease');
  await api.create(Resources.Namespace, { metadata: { name: leaseNamespace } });
  const catalog = inject('databaseAdminUrl') || inject('databaseUrl');
  const workload = new Workload({
    api,
    catalogUrl: inject('databaseAdminUrl')
      ? inDatabase(catalog, new URL(inject('databaseUrl')).pathname.slice(1) || OPERATOR_DATABASE)
      : catalog,
    scenario,
    accounts: Array.from({ length: accounts }, (_, i) => `${scenario}-a${i}`),
    prefix,
  });
  await workload.start();
  const env = testEnvironment({ shard: scenario, leaseNamespace });
  delete env.HEALTH_PORT;
  delete env.METRICS_PORT;
  return {
    scenario,
    leaseNamespace,
    workload,
    env: {
      ...env,
      WATCH_LABEL_SELECTOR: `${CHAOS_LABEL}=${scenario}`,
      PLAN_CATALOG,
      DATABASE_NAME_PREFIX: prefix,
      WEBHOOK_ENABLED: 'false',
    },
  };
}

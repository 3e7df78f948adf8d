import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { PLAN_CATALOG } from '../../operator/tools/bench/objects.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { OPERATOR_DATABASE } from '../../operator/tools/local/postgres.js';
import { CHAOS_LABEL, Workload, inDatabase } from '../../operator/tools/chaos/workload.js';
import { watchedReplica, type Watched } from '../../operator/tools/chaos/watched.js';
import { Replica } from '../../operator/tools/chaos/replica.js';
import { adminApi, uniqueName } from '../support/env.js';
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

/** A chaos test file's platform: the admin API, its fixture, and operator replicas that are all stopped at the end. */
export interface ChaosFile {
  readonly api: Api;
  readonly fx: ChaosFixture;
  /** An operator replica of this file, run from source with its environment (plus `env`). */
  replica(name: string, env?: Record<string, string>): Replica;
  /** The same, reaching the API server and PostgreSQL through proxies of its own that count and break traffic. */
  watched(name: string, env?: Record<string, string>): Promise<Watched>;
}

/** Registers the file's set-up and tear-down; the returned object is usable inside its tests. */
export function chaosFile(name: string, prefix: string): ChaosFile {
  const stops: (() => Promise<void>)[] = [];
  let api: Api | undefined;
  let fx: ChaosFixture | undefined;
  beforeAll(async () => {
    api = await adminApi();
    fx = await chaosFixture(api, name, prefix);
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await fx?.workload.stop();
    if (fx) await api?.delete(Resources.Namespace, { name: fx.leaseNamespace });
    api?.client.close();
  });
  const ready = () => {
    if (!api || !fx) throw new Error('chaosFile: used before its set-up ran');
    return { api, fx };
  };
  return {
    get api() {
      return ready().api;
    },
    get fx() {
      return ready().fx;
    },
    replica(suffix, env = {}) {
      const { fx } = ready();
      const r = new Replica({
        runDir: inject('runDir'),
        name: `${fx.scenario}-${suffix}`,
        kubeconfig: inject('kubeconfig'),
        databaseUrl: inject('databaseUrl'),
        env: { ...fx.env, ...env },
        entry: SOURCE_ENTRY,
      });
      stops.push(() => r.stop());
      return r;
    },
    async watched(suffix, env = {}) {
      const { fx } = ready();
      const w = await watchedReplica({
        runDir: inject('runDir'),
        name: `${fx.scenario}-${suffix}`,
        adminKubeconfig: inject('kubeconfig'),
        databaseUrl: inject('databaseUrl'),
        env: { ...fx.env, ...env },
        entry: SOURCE_ENTRY,
      });
      stops.push(() => w.stop());
      return w;
    },
  };
}

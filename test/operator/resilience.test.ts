import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  secretData,
  waitCondition,
  waitReady,
  withWorkspaceConnection,
} from '../support/fixtures.js';
import { startOperator } from '../support/operator.js';
import { CuttableProxy } from '../support/proxy.js';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { privilegedUrl, withClient } from '../db/support.js';

let api: Api;
const leaseNs = uniqueName('lease');
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await api.delete(Resources.Namespace, { name: leaseNs });
  api.client.close();
});

async function readyz(op: Operator, check?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${op.healthPort}/readyz${check ? `/${check}` : ''}`);
  return { status: res.status, body: await res.text() };
}

describe('a PostgreSQL outage', () => {
  it('turns Workspaces Ready=False, Reconciling=True (never Stalled), and they converge when it is back', async () => {
    const real = new URL(inject('databaseUrl'));
    const proxy = new CuttableProxy(real.hostname, Number(real.port));
    await proxy.start();
    stops.push(() => proxy.cut());
    const viaProxy = new URL(real);
    viaProxy.port = String(proxy.port);
    const shard = uniqueName('outage');
    const { operator } = await startOperator({
      shard,
      leaseNamespace: leaseNs,
      databaseUrl: viaProxy.toString(),
      // Workspaces reach the database directly; only the operator's path is cut.
      env: { DATABASE_CLIENT_HOST: real.hostname, DATABASE_CLIENT_PORT: real.port },
    });
    stops.push(() => operator.stop());

    const account = uniqueName('out');
    await createAccount(api, shard, account);
    await waitReady(api, Resources.Account, undefined, account);
    await createWorkspace(api, shard, account, 'before');
    await waitReady(api, Resources.Workspace, account, 'before');
    expect((await readyz(operator)).status).toBe(200);

    await proxy.cut();
    await createWorkspace(api, shard, account, 'during');
    // First sight already says Reconciling=True; wait for the verdict on the database itself.
    const during = await waitCondition(api, Resources.Workspace, account, 'during', 'DatabaseReady', 'False');
    const conditions = Object.fromEntries((during.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions.Ready).toMatchObject({ status: 'False' });
    expect(conditions.Reconciling).toMatchObject({ status: 'True', reason: 'DatabaseUnavailable' });
    expect(conditions.Stalled).toMatchObject({ status: 'False' });
    expect(conditions.DatabaseReady).toMatchObject({ status: 'False', reason: 'DatabaseUnavailable' });
    expect(during.status?.phase).toBe('Provisioning');
    // Admission needs no database: the replica stays ready (an endpoint of the webhook), and says what is down.
    await eventually('readyz to report the database', async () => {
      const r = await readyz(operator);
      return r.body.includes('[-]database failed (not required for readiness)') ? r : undefined;
    });
    expect((await readyz(operator)).status).toBe(200);
    expect((await readyz(operator, 'database')).status).toBe(503);
    expect((await readyz(operator, 'webhook')).status).toBe(200);

    await proxy.restore();
    await waitReady(api, Resources.Workspace, account, 'during', 90_000);
    const data = await secretData(api, workspaceNamespace(account, 'during'), 'database-credentials');
    await withWorkspaceConnection(data, (c) => c.query('SELECT 1'));
    await eventually('the database check to recover', async () =>
      (await readyz(operator, 'database')).status === 200 ? true : undefined,
    );
  });
});

describe("PostgreSQL ending the operator's sessions", () => {
  it('never ends the operator: Workspaces created while every session is terminated again and again all become Ready', async ({
    skip,
  }) => {
    if (!inject('databaseAdminUrl')) skip('terminating sessions needs the superuser of the test server');
    const shard = uniqueName('kill');
    // An application name of this test's own, so that only this operator's sessions are terminated.
    const url = new URL(inject('databaseUrl'));
    url.searchParams.set('application_name', shard);
    const { operator } = await startOperator({ shard, leaseNamespace: leaseNs, databaseUrl: url.toString() });
    stops.push(() => operator.stop());
    const account = uniqueName('kil');
    await createAccount(api, shard, account, { plan: 'scale' });

    let running = true;
    let killed = 0;
    let rounds = 0;
    const killer = withClient(inject('databaseAdminUrl'), async (c) => {
      while (running) {
        const { rows } = await c.query<{ n: number }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
             FROM pg_catalog.pg_stat_activity WHERE application_name = $1`,
          [shard],
        );
        killed += rows[0]?.n ?? 0;
        rounds++;
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
      }
    });
    const slugs = Array.from({ length: 10 }, (_, i) => `w${i}`);
    try {
      for (const slug of slugs) await createWorkspace(api, shard, account, slug);
      // Sessions die while the workspaces are provisioned, for a hundred rounds of the terminator.
      await eventually('terminations', async () => (rounds >= 100 && killed > 0 ? true : undefined), 60_000);
    } finally {
      running = false;
      await killer;
    }
    for (const slug of slugs) await waitReady(api, Resources.Workspace, account, slug, 120_000);
    const data = await secretData(api, workspaceNamespace(account, 'w0'), 'database-credentials');
    await withWorkspaceConnection(data, (c) => c.query('SELECT 1'));
    expect((await readyz(operator)).status).toBe(200);
  });
});

describe('a server that leaves tenants a door to another database', () => {
  it('is not ready and starts no controller, names the fix on /readyz, and is ready once an administrator revokes', async ({
    skip,
  }) => {
    if (!inject('databaseAdminUrl')) skip('needs the superuser of the test server');
    const shard = uniqueName('door');
    // A grant to this test's own tenant group opens the door for this operator alone (PUBLIC would stop all).
    const group = `door_${shard.replace(/-/g, '_')}`;
    const scratch = `door_db_${shard.replace(/-/g, '_')}`;
    await withClient(inject('databaseAdminUrl'), async (c) => {
      await c.query(`CREATE DATABASE ${scratch}`);
      await c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${scratch} FROM PUBLIC;
                     CREATE ROLE ${group} NOLOGIN; GRANT CONNECT ON DATABASE ${scratch} TO ${group}`);
    });
    try {
      const { operator } = await startOperator({
        shard,
        leaseNamespace: leaseNs,
        env: { DATABASE_TENANT_GROUP: group },
      });
      stops.push(() => operator.stop());
      const refused = await eventually('readyz to name the fix', async () => {
        const r = await readyz(operator, 'database');
        return r.status === 503 && r.body.includes('REVOKE CONNECT') ? r.body : undefined;
      });
      expect(refused).toContain(`[-]database failed: `);
      expect(refused).toContain(`ON DATABASE "${scratch}" FROM "${group}"`);
      // A refused set-up is configuration a person must fix: the replica is not ready (a rollout onto such a server
      // stops there), and it says what waits.
      const overall = await readyz(operator);
      expect(overall.status).toBe(503);
      expect(overall.body).toContain('[-]database-setup failed: ');
      expect(overall.body).toContain('[-]controllers failed (not required for readiness)');

      await withClient(inject('databaseAdminUrl'), (c) =>
        c.query(`REVOKE CONNECT ON DATABASE ${scratch} FROM ${group}`),
      );
      await eventually('the controllers to start', async () =>
        (await readyz(operator, 'controllers')).status === 200 ? true : undefined,
      );
      expect((await readyz(operator, 'database')).status).toBe(200);
      await eventually('the replica to be ready', async () =>
        (await readyz(operator)).status === 200 ? true : undefined,
      );
    } finally {
      await withClient(inject('databaseAdminUrl'), (c) => c.query(`DROP DATABASE IF EXISTS ${scratch}`));
      await withClient(privilegedUrl(), (c) => c.query(`DROP OWNED BY ${group}; DROP ROLE ${group}`));
    }
  });
});

describe('watches', () => {
  it('are re-established when the server ends them, and re-listed after 410 Gone, so later changes still reconcile', async () => {
    const shard = uniqueName('watch');
    const { operator } = await startOperator({
      shard,
      leaseNamespace: leaseNs,
      env: { WATCH_TIMEOUT_SECONDS: '2' },
    });
    stops.push(() => operator.stop());
    const informer = operator.caches.workspaces;
    const account = uniqueName('wat');
    await createAccount(api, shard, account);
    await waitReady(api, Resources.Account, undefined, account);

    // Every watch asks the server to end it within two seconds: several must have ended and come back.
    const watchesBefore = informer.watches;
    await new Promise((r) => setTimeout(r, 5_000));
    expect(informer.watches).toBeGreaterThanOrEqual(watchesBefore + 2);
    await createWorkspace(api, shard, account, 'after-timeouts');
    await waitReady(api, Resources.Workspace, account, 'after-timeouts');

    // A watch resumed from a version long compacted away gets 410 Gone: the informer lists again.
    const listsBefore = informer.lists;
    informer.restartWatchFrom('1');
    await eventually('a re-list after 410', async () => (informer.lists > listsBefore ? true : undefined));
    await createWorkspace(api, shard, account, 'after-gone');
    await waitReady(api, Resources.Workspace, account, 'after-gone');
    await api.mergePatch(
      Resources.Workspace,
      { namespace: account, name: 'after-gone' },
      { spec: { displayName: 'changed' } },
    );
    const ws = await waitReady(api, Resources.Workspace, account, 'after-gone');
    expect(ws.status?.observedGeneration).toBe(2);
  });
});

describe('leader election', () => {
  it('lets exactly one of two replicas reconcile, and hands over when the leader stops', async () => {
    const shard = uniqueName('leader');
    const replicas = [
      (await startOperator({ shard, leaseNamespace: leaseNs })).operator,
      (await startOperator({ shard, leaseNamespace: leaseNs })).operator,
    ];
    const stopped = new Set<Operator>();
    stops.push(async () => {
      for (const o of replicas) if (!stopped.has(o)) await o.stop();
    });
    const leaders = () => replicas.filter((o) => o.isLeader);
    await eventually('one leader', async () => (leaders().length === 1 ? true : undefined));

    const account = uniqueName('lead');
    await createAccount(api, shard, account);
    await waitReady(api, Resources.Account, undefined, account);
    await createWorkspace(api, shard, account, 'one');
    await waitReady(api, Resources.Workspace, account, 'one');

    const leader = leaders()[0] as Operator;
    const follower = replicas.find((o) => o !== leader) as Operator;
    expect(leaders()).toEqual([leader]);
    expect(await follower.metrics.total('controller_runtime_reconcile_total')).toBe(0);

    // The leader stops gracefully and releases the Lease: the follower takes over at once and carries on.
    await leader.stop();
    stopped.add(leader);
    await eventually('the follower to lead', async () => (follower.isLeader ? true : undefined), 10_000);
    await createWorkspace(api, shard, account, 'two');
    await waitReady(api, Resources.Workspace, account, 'two');
    expect(await follower.metrics.total('controller_runtime_reconcile_total')).toBeGreaterThan(0);
  });
});

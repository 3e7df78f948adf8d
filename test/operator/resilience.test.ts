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

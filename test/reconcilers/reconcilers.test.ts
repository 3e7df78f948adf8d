/**
 * Reconciler-level tests: each reconciler is called directly, against the shared control plane and PostgreSQL,
 * with the pieces the manager would give it (buildShared) and no controller, queue or watch handler running. A
 * pass brings the objects to the desired state; the pass after it finds nothing to do: it sends no API request and
 * no SQL statement (counted by the Metrics object, as /metrics exports them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Accepted, Ready, Reason, findCondition } from '../../operator/src/api/conditions.js';
import { loadConfig } from '../../operator/src/config.js';
import type { ControllerContext } from '../../operator/src/controllers/context.js';
import { AccountReconciler } from '../../operator/src/controllers/account/reconcile.js';
import { OrphanReport } from '../../operator/src/controllers/account/orphans.js';
import { InvitationReconciler } from '../../operator/src/controllers/invitation/reconcile.js';
import { WorkspaceReconciler } from '../../operator/src/controllers/workspace/reconcile.js';
import { tenantNames, workspaceNamespace } from '../../operator/src/db/names.js';
import type { Invitation } from '../../operator/src/domain/invitations.js';
import type { Api } from '../../operator/src/kube/api.js';
import { KubeClient } from '../../operator/src/kube/client.js';
import type { Reconciler } from '../../operator/src/kube/controller.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { createLogger } from '../../operator/src/log.js';
import { buildShared } from '../../operator/src/manager/shared.js';
import { Metrics } from '../../operator/src/metrics.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, read } from '../support/fixtures.js';
import { SHARD_LABEL, testEnvironment } from '../support/operator.js';
import { inject } from 'vitest';

let admin: Api;
let ctx: ControllerContext;
const shard = uniqueName('rec');
const leaseNs = uniqueName('lease');
const stop = new AbortController();
const log = createLogger('warn');
const sent: Invitation[] = [];

beforeAll(async () => {
  admin = await adminApi();
  await admin.create(Resources.Namespace, { metadata: { name: leaseNs } });
  const config = loadConfig(testEnvironment({ shard, leaseNamespace: leaseNs }));
  const kube = await KubeClient.fromFile(inject('kubeconfig'));
  ctx = buildShared({ config, kube, log, metrics: new Metrics() });
  for (const informer of Object.values(ctx.caches)) void informer.run(stop.signal);
  await Promise.all(Object.values(ctx.caches).map((i) => i.waitForSync(stop.signal)));
  await ctx.db.bootstrap();
  await ctx.inventory.refresh();
});

afterAll(async () => {
  stop.abort();
  await ctx?.db.close();
  await admin.delete(Resources.Namespace, { name: leaseNs });
  admin.client.close();
});

const requests = () => ctx.metrics.total('rest_client_requests_total');
const statements = () => ctx.metrics.total('workspace_operator_sql_statements_total');

/** Waits until no request of an earlier pass (an Event being recorded, say) is still in flight. */
async function settled(): Promise<void> {
  let last = -1;
  for (;;) {
    const now = await requests();
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Runs one pass and returns what it sent: API requests and SQL statements. */
async function pass(reconciler: Reconciler, key: string): Promise<{ requests: number; sql: number }> {
  await settled();
  const [r0, s0] = [await requests(), await statements()];
  await reconciler.reconcile(key, log);
  return { requests: (await requests()) - r0, sql: (await statements()) - s0 };
}

/** An account reconciled until Ready (the quota controller must count its workspaces first). */
async function readyAccount(
  name: string,
  teammates = [{ email: `owner@${name}.example`, role: 'Owner' as const }],
) {
  await createAccount(admin, shard, name, { wait: false, teammates });
  const accounts = new AccountReconciler(ctx, new OrphanReport(ctx.caches, ctx.inventory, 'ws'));
  await eventually(`Account ${name} Ready`, async () => {
    if (!ctx.caches.accounts.get(name)) return undefined;
    await accounts.reconcile(name, log);
    return findCondition(ctx.caches.accounts.get(name)?.status?.conditions, Ready)?.status === 'True'
      ? true
      : undefined;
  });
  return accounts;
}

describe('the Account reconciler', () => {
  it('makes the home namespace, RBAC and quota, and a second pass sends nothing', async () => {
    const name = uniqueName('acct');
    const accounts = await readyAccount(name);
    expect(await admin.get(Resources.Namespace, { name })).toMatchObject({
      metadata: { labels: { 'taskjuice.io/account': name, 'taskjuice.io/component': 'home' } },
    });
    expect(
      await admin.get(Resources.ResourceQuota, { namespace: name, name: 'taskjuice-workspaces' }),
    ).toBeDefined();
    const account = await read(admin, Resources.Account, undefined, name);
    expect(account?.status).toMatchObject({ namespace: name, workspaceCount: 0, plan: { resolved: true } });

    expect(await pass(accounts, name)).toEqual({ requests: 0, sql: 0 });
  });

  it('reports a spec the schema refuses as InvalidSpec, from the issues kept by the cache', async () => {
    const name = uniqueName('dupe');
    // The API server's schema cannot see that these are one person; zod's canonical comparison does.
    await createAccount(admin, shard, name, {
      wait: false,
      teammates: [
        { email: `owner@${name}.example`, role: 'Owner' },
        { email: `Owner@${name}.example`, role: 'Admin' },
      ],
    });
    await eventually('the account in the cache', async () => ctx.caches.accounts.get(name));
    expect(ctx.caches.accounts.get(name)?.spec).toBeUndefined();
    const accounts = new AccountReconciler(ctx, { of: () => [] });
    expect((await rejection(accounts.reconcile(name, log))).code).toBe('Terminal');
    const stalled = findCondition(ctx.caches.accounts.get(name)?.status?.conditions, 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: Reason.InvalidSpec });
    expect(stalled?.message).toContain('spec.teammates[1].email');
    await admin.delete(Resources.Account, { name });
  });
});

describe('the Workspace reconciler', () => {
  it('provisions namespace, access, credentials and database in one pass, and a second pass sends nothing', async () => {
    const account = uniqueName('wsacct');
    await readyAccount(account);
    await createWorkspace(admin, shard, account, 'web');
    const key = `${account}/web`;
    await eventually('the workspace in the cache', async () => ctx.caches.workspaces.get(key));
    const workspaces = new WorkspaceReconciler(ctx);

    const first = await pass(workspaces, key);
    expect(first.sql).toBeGreaterThan(0);
    const names = tenantNames('ws', account, 'web');
    const namespace = workspaceNamespace(account, 'web');
    const ws = await read(admin, Resources.Workspace, account, 'web');
    expect(ws?.status).toMatchObject({
      phase: 'Ready',
      namespace,
      database: { schema: names.schema, role: names.role, secretName: 'database-credentials' },
    });
    for (const type of ['Ready', 'NamespaceReady', 'AccessReady', 'CredentialsReady', 'DatabaseReady'])
      expect(ws?.status?.conditions?.find((c) => c.type === type)?.status).toBe('True');
    expect(await admin.get(Resources.Secret, { namespace, name: 'database-credentials' })).toBeDefined();
    expect(await admin.get(Resources.RoleBinding, { namespace, name: 'taskjuice-staff' })).toBeDefined();
    expect(ctx.inventory.has(names)).toBe(true);

    expect(await pass(workspaces, key)).toEqual({ requests: 0, sql: 0 });

    // Deletion: the finalizer pass drops the database objects and lets the Workspace go.
    await admin.delete(Resources.Workspace, { namespace: account, name: 'web' });
    await eventually('the deletion in the cache', async () =>
      ctx.caches.workspaces.get(key)?.metadata.deletionTimestamp ? true : undefined,
    );
    await workspaces.reconcile(key, log);
    expect(ctx.inventory.has(names)).toBe(false);
    await eventually('the Workspace gone', async () =>
      (await admin.get(Resources.Workspace, { namespace: account, name: 'web' })) ? undefined : true,
    );
  });
});

describe('the Workspace reconciler and a server that is not open', () => {
  it('looks again by itself: a server can open without its DatabaseServer changing, and no event would come', async () => {
    const account = uniqueName('wsclosed');
    await readyAccount(account);
    await createWorkspace(admin, shard, account, 'far');
    const key = `${account}/far`;
    const seen = await eventually('the workspace in the cache', async () => ctx.caches.workspaces.get(key));
    // Placed, as a status of before says, on a server this operator has not opened.
    await admin.apply(
      Resources.Workspace,
      {
        metadata: { name: 'far', namespace: account },
        status: { ...seen.status, databaseServer: 'not-opened' },
      },
      { subresource: 'status' },
    );
    await eventually('the placement in the cache', async () =>
      ctx.caches.workspaces.get(key)?.status?.databaseServer === 'not-opened' ? true : undefined,
    );
    const result = await new WorkspaceReconciler(ctx).reconcile(key, log);
    expect(result).toMatchObject({ requeueAfterMs: expect.any(Number) });
    const ws = await read(admin, Resources.Workspace, account, 'far');
    expect(ws?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'DatabaseServerNotOpen',
    });
  });
});

describe('the ClientInvitation reconciler', () => {
  it('sends the link once, and a second pass sends nothing', async () => {
    const account = uniqueName('invacct');
    await readyAccount(account);
    await createWorkspace(admin, shard, account, 'site');
    await admin.create(Resources.ClientInvitation, {
      metadata: { name: 'carol', namespace: account, labels: { [SHARD_LABEL]: shard } },
      spec: { workspace: 'site', email: 'carol@client.example' },
    });
    const key = `${account}/carol`;
    await eventually('the invitation and its workspace in the cache', async () =>
      ctx.caches.invitations.get(key) && ctx.caches.workspaces.get(`${account}/site`) ? true : undefined,
    );
    const mailer = { send: async (i: Invitation) => void sent.push(i) };
    const invitations = new InvitationReconciler(ctx, mailer);

    await pass(invitations, key);
    expect(sent.filter((i) => i.to === 'carol@client.example')).toHaveLength(1);
    const inv = ctx.caches.invitations.get(key);
    expect(inv?.status).toMatchObject({ phase: 'Pending', email: 'carol@client.example' });
    expect(findCondition(inv?.status?.conditions, Ready)?.status).toBe('True');
    expect(findCondition(inv?.status?.conditions, Accepted)?.status).toBe('False');

    expect(await pass(invitations, key)).toEqual({ requests: 0, sql: 0 });
    expect(sent.filter((i) => i.to === 'carol@client.example')).toHaveLength(1);
  });
});

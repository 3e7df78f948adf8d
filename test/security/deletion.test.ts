/**
 * Deletion as a hostile teammate would try it: remove the cleanup finalizer and delete back to back, so that the
 * Workspace vanishes while its namespace, Secret, schema and role (the client's data) stay behind and the plan
 * frees a place. Refused; and where it is done anyway (no webhook), what is left is reported, never hidden.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tenantNames, workspaceNamespace } from '../../operator/src/db/names.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  read,
  retryingQuotaConflicts,
  secretData,
  waitGone,
  waitReady,
  withWorkspaceConnection,
  waitEvent,
} from '../support/fixtures.js';
import { SHARD_LABEL, startOperator } from '../support/operator.js';
import { startOperatorWithWebhook } from '../support/webhook.js';

const FINALIZER = 'taskjuice.io/cleanup';
const shard = uniqueName('sec-del');
const account = uniqueName('del');
const adminEmail = `adam@${account}.example`;
const unguardedShard = uniqueName('sec-orph');
const unguarded = uniqueName('orph');
let api: Api;
let stops: (() => Promise<void>)[] = [];
let guardedOperator: Operator;
let unguardedOperator: Operator;
let unguardedLease = '';
let db: pg.Client;

/** The tenant's own identity at the API server, as an OIDC login would present it. */
async function as(user: string): Promise<Api> {
  return new Api(await api.client.as({ user, groups: ['system:authenticated'] }));
}

/** Which of a workspace's database objects exist, asked as the operator's database role sees the catalog. */
async function databaseObjects(acct: string, slug: string): Promise<{ schema: boolean; role: boolean }> {
  const names = tenantNames('ws', acct, slug);
  const { rows } = await db.query<{ schema: boolean; role: boolean }>(
    `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1) AS schema,
            EXISTS (SELECT FROM pg_roles WHERE rolname = $2) AS role`,
    [names.schema, names.role],
  );
  return rows[0] ?? { schema: false, role: false };
}

beforeAll(async () => {
  api = await adminApi();
  db = new pg.Client({ connectionString: inject('databaseUrl') });
  await db.connect();
  const guarded = await startOperatorWithWebhook({ api, shard, accounts: [account] });
  guardedOperator = guarded.operator;
  stops.push(() => guarded.stop());
  await createAccount(api, shard, account, {
    plan: 'scale',
    teammates: [
      { email: `olivia@${account}.example`, role: 'Owner' },
      { email: adminEmail, role: 'Admin' },
    ],
  });

  // An operator whose webhook is not registered: what happens when the finalizer goes anyway.
  const leaseNs = uniqueName('lease');
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
  unguardedLease = leaseNs;
  unguardedOperator = (await startOperator({ shard: unguardedShard, leaseNamespace: leaseNs })).operator;
  stops.push(async () => {
    await unguardedOperator.stop();
    await api.delete(Resources.Namespace, { name: leaseNs });
  });
  await createAccount(api, unguardedShard, unguarded);
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
  await db.end();
  api.client.close();
});

describe('deleting a workspace', () => {
  it('refuses an Admin who removes the cleanup finalizer, and a confirmed delete then removes everything', async () => {
    await createWorkspace(api, shard, account, 'web');
    await waitReady(api, Resources.Workspace, account, 'web');
    const adam = await as(adminEmail);
    try {
      const refused = await rejection(
        adam.mergePatch(
          Resources.Workspace,
          { namespace: account, name: 'web' },
          { metadata: { finalizers: [] } },
        ),
      );
      expect(refused.message).toMatch(
        /metadata\.finalizers: taskjuice\.io\/cleanup is removed by workspace-operator once the database schema, role and namespace of workspace web are gone/,
      );
      const after = await read(api, Resources.Workspace, account, 'web');
      expect((after?.metadata as { finalizers?: string[] }).finalizers).toContain(FINALIZER);

      // The honest path: confirm, delete; the operator drops everything before the Workspace goes.
      await adam.mergePatch(
        Resources.Workspace,
        { namespace: account, name: 'web' },
        { metadata: { annotations: { 'taskjuice.io/confirm-delete': 'web' } } },
      );
      await adam.delete(Resources.Workspace, { namespace: account, name: 'web' });
    } finally {
      adam.client.close();
    }
    await waitGone(api, Resources.Workspace, account, 'web');
    expect(await databaseObjects(account, 'web')).toEqual({ schema: false, role: false });
    await waitGone(api, Resources.Namespace, undefined, workspaceNamespace(account, 'web'), 90_000);
  });

  it('never provisions a workspace deleted the moment it was created, so nothing of it is left', async () => {
    const slugs = Array.from({ length: 6 }, (_, i) => `flash-${i}`);
    for (const slug of slugs) {
      await retryingQuotaConflicts(() =>
        api.create(Resources.Workspace, {
          metadata: {
            name: slug,
            namespace: account,
            labels: { [SHARD_LABEL]: shard },
            annotations: { 'taskjuice.io/confirm-delete': slug },
          },
          spec: { displayName: `Client ${slug}` },
        }),
      );
      await api.delete(Resources.Workspace, { namespace: account, name: slug });
    }
    for (const slug of slugs) await waitGone(api, Resources.Workspace, account, slug);
    // Whatever a reconcile had begun when its Workspace went, it finished or undid; give late work time to act.
    await eventually('the operator to settle', async () =>
      (await guardedOperator.metrics.total('workqueue_depth')) +
        (await guardedOperator.metrics.total('controller_runtime_active_workers')) ===
      0
        ? true
        : undefined,
    );
    for (const slug of slugs) {
      expect(await databaseObjects(account, slug), slug).toEqual({ schema: false, role: false });
      const ns = (await api.get(Resources.Namespace, { name: workspaceNamespace(account, slug) })) as
        { metadata: { deletionTimestamp?: string } } | undefined;
      expect(ns === undefined || ns.metadata.deletionTimestamp !== undefined, slug).toBe(true);
    }
  });
});

describe('what a vanished workspace leaves behind', () => {
  it('is reported on its account (condition, Warning Event, metric) and adopted, data intact, when the workspace comes back', async () => {
    await createWorkspace(api, unguardedShard, unguarded, 'kept');
    await waitReady(api, Resources.Workspace, unguarded, 'kept');
    const namespace = workspaceNamespace(unguarded, 'kept');
    const before = await secretData(api, namespace, 'database-credentials');
    await withWorkspaceConnection(before, async (c) => {
      await c.query('CREATE TABLE notes (body text)');
      await c.query("INSERT INTO notes VALUES ('client data')");
    });

    // The finalizer goes, and the Workspace with it, while the operator is not looking (no webhook guards this one;
    // were it running, it would put its finalizer back and clean up, racing the delete). It finds out on start.
    await unguardedOperator.stop();
    await api.mergePatch(
      Resources.Workspace,
      { namespace: unguarded, name: 'kept' },
      { metadata: { finalizers: [] } },
    );
    await api.delete(Resources.Workspace, { namespace: unguarded, name: 'kept' });
    await waitGone(api, Resources.Workspace, unguarded, 'kept');
    unguardedOperator = (await startOperator({ shard: unguardedShard, leaseNamespace: unguardedLease }))
      .operator;

    const names = tenantNames('ws', unguarded, 'kept');
    const reported = await eventually('the account to report what was left', async () => {
      const a = await read(api, Resources.Account, undefined, unguarded);
      const c = a?.status?.conditions?.find((x) => x.type === 'OrphansFound');
      return c?.status === 'True' ? c : undefined;
    });
    expect(reported.message).toContain(`namespace ${namespace}`);
    expect(reported.message).toContain(`schema ${names.schema}`);
    expect(reported.message).toContain(`role ${names.role}`);
    expect(reported.message).toContain('of deleted workspace kept');
    const ready = (await read(api, Resources.Account, undefined, unguarded))?.status?.conditions?.find(
      (x) => x.type === 'Ready',
    );
    expect(ready?.status).toBe('True');
    await waitEvent(api, 'default', unguarded, 'OrphansFound', 'Warning');
    expect(
      await unguardedOperator.metrics.total('workspace_operator_orphaned_objects', { kind: 'schema' }),
    ).toBeGreaterThanOrEqual(1);
    // Nothing was deleted on the operator's own initiative: the data is still there.
    expect(await databaseObjects(unguarded, 'kept')).toEqual({ schema: true, role: true });

    await createWorkspace(api, unguardedShard, unguarded, 'kept');
    await waitReady(api, Resources.Workspace, unguarded, 'kept');
    const after = await secretData(api, namespace, 'database-credentials');
    const rows = await withWorkspaceConnection(after, (c) =>
      c.query<{ body: string }>('SELECT body FROM notes'),
    );
    expect(rows.rows).toEqual([{ body: 'client data' }]);
    await eventually('the report to clear', async () => {
      const a = await read(api, Resources.Account, undefined, unguarded);
      return a?.status?.conditions?.find((x) => x.type === 'OrphansFound')?.status === 'False'
        ? true
        : undefined;
    });
  });
});

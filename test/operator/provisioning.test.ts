import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Operator } from '../../operator/src/operator.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { tenantNames, workspaceNamespace } from '../../operator/src/db/names.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  read,
  secretData,
  waitGone,
  waitReady,
  withWorkspaceConnection,
} from '../support/fixtures.js';
import { startOperator } from '../support/operator.js';
import { childInformers } from '../../operator/src/caches.js';

let api: Api;
let operator: Operator;
const shard = uniqueName('prov');
const leaseNs = uniqueName('lease');

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
  ({ operator } = await startOperator({
    shard,
    leaseNamespace: leaseNs,
    // `bulk`: a limit the API server writes back in SI form ("1k"), which the account must still read as counted.
    env: { PLAN_CATALOG: '{"starter":1,"growth":5,"scale":25,"bulk":1000}' },
  }));
});

afterAll(async () => {
  await operator?.stop();
  await api.delete(Resources.Namespace, { name: leaseNs });
  api.client.close();
});

async function adminQuery<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describe('a Workspace', () => {
  it('becomes Ready with its namespace, schema, role and Secret, and the Secret works for its own schema', async () => {
    const account = uniqueName('acme');
    await createAccount(api, shard, account);
    await waitReady(api, Resources.Account, undefined, account);
    await createWorkspace(api, shard, account, 'web');
    const ws = await waitReady(api, Resources.Workspace, account, 'web');

    const names = tenantNames('ws', account, 'web');
    const namespace = workspaceNamespace(account, 'web');
    expect(ws.status).toMatchObject({
      phase: 'Ready',
      namespace,
      database: { schema: names.schema, role: names.role, secretName: 'database-credentials' },
      binding: { name: 'database-credentials' },
    });
    expect(await api.get(Resources.Namespace, { name: namespace })).toMatchObject({
      metadata: { labels: { 'taskjuice.io/account': account, 'taskjuice.io/workspace': 'web' } },
    });

    const secret = (await api.get(Resources.Secret, { namespace, name: 'database-credentials' })) as {
      type: string;
    };
    expect(secret.type).toBe('servicebinding.io/postgresql');
    const data = await secretData(api, namespace, 'database-credentials');
    expect(Object.keys(data).sort()).toEqual(
      [
        'database',
        'dbname',
        'host',
        'jdbc-uri',
        'password',
        'pgpass',
        'port',
        'provider',
        'schema',
        'type',
        'uri',
        'user',
        'username',
      ].sort(),
    );
    expect(data).toMatchObject({
      type: 'postgresql',
      username: names.role,
      user: names.role,
      schema: names.schema,
    });
    expect(data.dbname).toBe(data.database);

    const rows = await withWorkspaceConnection(data, async (c) => {
      // No schema-qualified names: the uri's search_path points at the workspace's schema.
      await c.query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
      await c.query("INSERT INTO notes (body) VALUES ('hello'), ('world')");
      const schema = (await c.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s;
      expect(schema).toBe(names.schema);
      return (await c.query<{ body: string }>('SELECT body FROM notes ORDER BY id')).rows.map((r) => r.body);
    });
    expect(rows).toEqual(['hello', 'world']);
  });

  it("keeps one workspace's credentials out of another's tables and out of public", async () => {
    const account = uniqueName('iso');
    await createAccount(api, shard, account);
    await createWorkspace(api, shard, account, 'alpha');
    await createWorkspace(api, shard, account, 'beta');
    await waitReady(api, Resources.Workspace, account, 'alpha');
    await waitReady(api, Resources.Workspace, account, 'beta');
    const a = await secretData(api, workspaceNamespace(account, 'alpha'), 'database-credentials');
    const b = await secretData(api, workspaceNamespace(account, 'beta'), 'database-credentials');
    await withWorkspaceConnection(b, (c) =>
      c.query("CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('b-only')"),
    );

    await withWorkspaceConnection(a, async (c) => {
      const bSchema = b.schema as string;
      for (const sql of [
        `SELECT * FROM "${bSchema}".secrets`,
        `INSERT INTO "${bSchema}".secrets VALUES ('from a')`,
        `CREATE TABLE "${bSchema}".intruder (x int)`,
        'CREATE TABLE public.intruder (x int)',
      ]) {
        const err = await rejection(c.query(sql));
        expect(err.message, sql).toMatch(/permission denied/);
      }
      const listed = await c.query(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
      );
      expect(listed.rows.filter((r: { table_schema: string }) => r.table_schema !== a.schema)).toEqual([]);
    });
  });

  it('reconciles idempotently: a second pass over a Ready workspace writes nothing and sends no SQL', async () => {
    const account = uniqueName('idem');
    await createAccount(api, shard, account);
    await createWorkspace(api, shard, account, 'web');
    await waitReady(api, Resources.Workspace, account, 'web');
    // The account recounts a moment after a workspace comes: that write belongs to the provisioning.
    await eventually('the account to count the workspace', async () => {
      const a = await read(api, Resources.Account, undefined, account);
      return a?.status?.workspaceCount === 1 ? true : undefined;
    });
    // The account is Ready once the quota controller counted it (its own event, later than the workspace's).
    await waitReady(api, Resources.Account, undefined, account);
    // Let the events of the provisioning itself drain before counting.
    await eventually('the queues to drain', async () => {
      const { workspace, account: accounts } = operator.controllers;
      const busy = [workspace, accounts].reduce((n, c) => n + c.queue.depth + c.queue.inFlight, 0);
      return busy === 0 ? true : undefined;
    });
    // Every write the operator sends from here on for this account and its workspace (the operator also serves the
    // other tests' accounts, which recount their workspaces a moment after a change).
    const writes: string[] = [];
    operator.api.client.onRequest((verb, _status, _seconds, path) => {
      if (!['get', 'list', 'watch'].includes(verb) && path.includes(account)) writes.push(`${verb} ${path}`);
    });
    const sql = () => operator.metrics.total('workspace_operator_sql_statements_total');
    const reconciles = () =>
      operator.metrics.total('controller_runtime_reconcile_total', { controller: 'workspace' });
    const [s0, r0] = [await sql(), await reconciles()];
    operator.controllers.workspace.enqueue(`${account}/web`);
    operator.controllers.account.enqueue(account);
    await eventually('the second pass', async () => ((await reconciles()) > r0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    expect(writes).toEqual([]);
    expect((await sql()) - s0).toBe(0);
  });

  it('follows every spec change with observedGeneration, as kubectl wait --for=condition=Ready needs', async () => {
    const account = uniqueName('gen');
    await createAccount(api, shard, account);
    await createWorkspace(api, shard, account, 'web');
    const first = await waitReady(api, Resources.Workspace, account, 'web');
    for (const name of ['Renamed once', 'Renamed twice']) {
      await api.mergePatch(
        Resources.Workspace,
        { namespace: account, name: 'web' },
        { spec: { displayName: name } },
      );
      const ws = await waitReady(api, Resources.Workspace, account, 'web');
      expect(ws.metadata.generation).toBeGreaterThan(first.metadata.generation ?? 0);
      expect(ws.status?.observedGeneration).toBe(ws.metadata.generation);
      expect(ws.status?.conditions?.every((c) => c.observedGeneration === ws.metadata.generation)).toBe(true);
    }
  });

  it('is removed with its schema, role, Secret and namespace, leaving nothing in PostgreSQL', async () => {
    const account = uniqueName('del');
    await createAccount(api, shard, account);
    await createWorkspace(api, shard, account, 'gone');
    await waitReady(api, Resources.Workspace, account, 'gone');
    const names = tenantNames('ws', account, 'gone');
    const namespace = workspaceNamespace(account, 'gone');
    const data = await secretData(api, namespace, 'database-credentials');
    // A live session of the workspace must not keep its role alive.
    const session = new pg.Client({ connectionString: data.uri });
    await session.connect();
    session.on('error', () => {});

    await api.delete(Resources.Workspace, { namespace: account, name: 'gone' });
    await waitGone(api, Resources.Workspace, account, 'gone');
    await waitGone(api, Resources.Namespace, undefined, namespace, 90_000);
    expect(await api.get(Resources.Secret, { namespace, name: 'database-credentials' })).toBeUndefined();
    const left = await adminQuery(
      `SELECT 'schema' AS kind FROM pg_namespace WHERE nspname = $1
       UNION ALL SELECT 'role' FROM pg_roles WHERE rolname = $1
       UNION ALL SELECT 'session' FROM pg_stat_activity WHERE usename = $1`,
      [names.role],
    );
    expect(left).toEqual([]);
    // Nothing of it stays in memory: a deleted workspace's children leave the operator's caches with it.
    const { caches } = operator;
    await eventually(
      'the caches to forget the workspace',
      async () =>
        [
          caches.namespaces.get(namespace),
          ...childInformers(caches).map((c) => c.countInNamespace(namespace)),
        ].filter((held) => held !== undefined && held !== 0).length === 0 || undefined,
    );
    await session.end().catch(() => {});
  });

  it('shows the account its plan, limit and workspace count, and falls back to 1 for an unknown plan', async () => {
    const account = uniqueName('plan');
    await createAccount(api, shard, account, { plan: 'enterprise' });
    await createWorkspace(api, shard, account, 'one');
    await waitReady(api, Resources.Workspace, account, 'one');
    const acct = await eventually('the account to count its workspace', async () => {
      const a = await read(api, Resources.Account, undefined, account);
      return a?.status?.workspaceCount === 1 ? a : undefined;
    });
    expect(acct.status?.plan).toEqual({
      name: 'enterprise',
      resolved: false,
      workspaceLimit: 1,
      planLimit: 1,
      limitSource: 'Fallback',
    });
    expect(acct.status?.conditions?.find((c) => c.type === 'PlanResolved')).toMatchObject({
      status: 'False',
      reason: 'UnknownPlan',
    });
    const quota = (await api.get(Resources.ResourceQuota, {
      namespace: account,
      name: 'taskjuice-workspaces',
    })) as {
      spec: { hard: Record<string, string> };
    };
    expect(quota.spec.hard['count/workspaces.taskjuice.io']).toBe('1');
    const err = await rejection(createWorkspace(api, shard, account, 'two'));
    expect(err.message).toMatch(/exceeded quota/);
  });

  it('becomes Ready on a plan of 1,000 workspaces, which the API server stores as 1k', async () => {
    const account = uniqueName('bulk');
    await createAccount(api, shard, account, { plan: 'bulk' });
    const acct = await waitReady(api, Resources.Account, undefined, account);
    expect(acct.status?.plan).toEqual({
      name: 'bulk',
      resolved: true,
      workspaceLimit: 1000,
      planLimit: 1000,
      limitSource: 'Plan',
    });
    const quota = (await api.get(Resources.ResourceQuota, {
      namespace: account,
      name: 'taskjuice-workspaces',
    })) as { spec: { hard: Record<string, string> }; metadata: { resourceVersion: string } };
    expect(quota.spec.hard['count/workspaces.taskjuice.io']).toBe('1k');
    // The desired quota matches the stored one, so a later pass over the account leaves it alone.
    const edited = (await api.mergePatch(
      Resources.Account,
      { name: account },
      { spec: { displayName: 'Bulk agency, renamed' } },
    )) as { metadata: { generation: number } };
    await eventually('the account to observe the edit', async () => {
      const a = await read(api, Resources.Account, undefined, account);
      const ready = a?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && ready.observedGeneration === edited.metadata.generation
        ? true
        : undefined;
    });
    const again = (await api.get(Resources.ResourceQuota, {
      namespace: account,
      name: 'taskjuice-workspaces',
    })) as { metadata: { resourceVersion: string } };
    expect(again.metadata.resourceVersion).toBe(quota.metadata.resourceVersion);
  });
});

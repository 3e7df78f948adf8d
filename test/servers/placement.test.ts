/**
 * Several PostgreSQL servers (issue 14): two servers of the test's own beside the suite's, registered as
 * DatabaseServers. Workspaces are placed on the least filled Active server with room that carries the account's
 * labels, stay there, get Secrets that reach that server, and a server that stops fails only its workspaces.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { tenantNames } from '../../operator/src/db/names.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { startPostgres, type LocalPostgres } from '../../operator/tools/local/postgres.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import {
  createWorkspace,
  read,
  secretData,
  waitCondition,
  waitReady,
  waitEvent,
  withWorkspaceConnection,
} from '../support/fixtures.js';
import { SHARD_LABEL, startOperator } from '../support/operator.js';

const shard = uniqueName('servers');
const leaseNs = uniqueName('lease');
const eu = uniqueName('eu');
const any = uniqueName('any');
const serverA = `${shard}-a`;
const serverB = `${shard}-b`;
let api: Api;
let operator: Operator;
let a: LocalPostgres;
let b: LocalPostgres;
const labels = { [SHARD_LABEL]: shard };

async function account(name: string, selector?: Record<string, string>, plan = 'growth'): Promise<void> {
  await api.create(Resources.Account, {
    metadata: { name, labels },
    spec: {
      displayName: name,
      plan,
      teammates: [{ email: `owner@${name}.example`, role: 'Owner' }],
      ...(selector ? { databaseServerSelector: { matchLabels: selector } } : {}),
    },
  });
  await waitReady(api, Resources.Account, undefined, name);
}

async function server(name: string, spec: Record<string, unknown>, extra: Record<string, string> = {}) {
  await api.create(Resources.DatabaseServer, { metadata: { name, labels: { ...labels, ...extra } }, spec });
}

const placedOn = async (acct: string, slug: string) =>
  (await read(api, Resources.Workspace, acct, slug))?.status as { databaseServer?: string } | undefined;

/** Whether the tenant's role exists on a server, asked of that server itself. */
async function roleExists(db: LocalPostgres, acct: string, slug: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  try {
    const { role } = tenantNames('ws', acct, slug);
    const r = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    return r.rowCount === 1;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  api = await adminApi();
  const runDir = inject('runDir');
  [a, b] = await Promise.all([
    startPostgres(join(runDir, `${shard}-a`)),
    startPostgres(join(runDir, `${shard}-b`)),
  ]);
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
  for (const [name, db] of [
    ['pg-a', a],
    ['pg-b', b],
  ] as const) {
    await api.create(Resources.Secret, {
      metadata: { name, namespace: leaseNs },
      stringData: { uri: db.operatorUrl },
    });
  }
  ({ operator } = await startOperator({ shard, leaseNamespace: leaseNs }));
  // The suite's own server takes no new workspaces of this file: only a and b do.
  await server('default', { state: 'Cordoned' });
  await server(serverA, { connectionSecret: { name: 'pg-a' }, capacity: 2 }, { region: 'eu' });
  await server(serverB, { connectionSecret: { name: 'pg-b' }, capacity: 10 });
  for (const name of [serverA, serverB]) await waitReady(api, Resources.DatabaseServer, undefined, name);
  await account(eu, { region: 'eu' });
  await account(any, undefined, 'scale');
});

afterAll(async () => {
  await operator?.stop();
  await api.delete(Resources.DatabaseServer, { name: 'default' }).catch(() => undefined);
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('several PostgreSQL servers', () => {
  it('place a workspace on a server its account may use, whose Secret reaches that server', async () => {
    for (const slug of ['e1', 'e2']) await createWorkspace(api, shard, eu, slug);
    for (const slug of ['e1', 'e2']) await waitReady(api, Resources.Workspace, eu, slug);
    expect((await placedOn(eu, 'e1'))?.databaseServer).toBe(serverA);
    expect((await placedOn(eu, 'e2'))?.databaseServer).toBe(serverA);
    expect(await roleExists(a, eu, 'e1')).toBe(true);
    expect(await roleExists(b, eu, 'e1')).toBe(false);
    const ns = (await read(api, Resources.Workspace, eu, 'e1'))?.status?.namespace ?? '';
    const data = await secretData(api, ns, 'database-credentials');
    expect(data.port).toBe(String(a.port));
    await withWorkspaceConnection(data, async (c) => {
      await c.query('CREATE TABLE notes (body text)');
      await c.query("INSERT INTO notes VALUES ('on server a')");
    });
    type ServerStatus = { workspaces?: number; freeCapacity?: number; reachable?: boolean } | undefined;
    await eventually('server a counts its workspaces', async () => {
      const s = (await read(api, Resources.DatabaseServer, undefined, serverA))?.status as ServerStatus;
      return s?.workspaces === 2 && s.freeCapacity === 0 && s.reachable ? true : undefined;
    });
  });

  it('waits with a clear condition when the servers an account may use are full, and goes on once one has room', async () => {
    await createWorkspace(api, shard, eu, 'e3');
    const waiting = await eventually('e3 to wait for a server', async () => {
      const w = await read(api, Resources.Workspace, eu, 'e3');
      return w?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'NoDatabaseServer');
    });
    expect(waiting.message).toContain(`${serverA} is full (2 of 2 workspaces)`);
    // A workspace of an account without a selector goes to the least filled server it may use: b.
    await createWorkspace(api, shard, any, 'w1');
    await waitReady(api, Resources.Workspace, any, 'w1');
    expect((await placedOn(any, 'w1'))?.databaseServer).toBe(serverB);
    await api.mergePatch(Resources.DatabaseServer, { name: serverA }, { spec: { capacity: 3 } });
    await waitReady(api, Resources.Workspace, eu, 'e3');
    expect((await placedOn(eu, 'e3'))?.databaseServer).toBe(serverA);
  });

  it('takes no new workspaces on a cordoned server, and keeps the ones it has', async () => {
    await api.mergePatch(Resources.DatabaseServer, { name: serverB }, { spec: { state: 'Cordoned' } });
    await eventually('b cordoned in the operator’s cache', async () =>
      operator.caches.databaseServers.get(serverB)?.spec?.state === 'Cordoned' ? true : undefined,
    );
    await createWorkspace(api, shard, any, 'w2');
    const waiting = await eventually('w2 to wait', async () => {
      const w = await read(api, Resources.Workspace, any, 'w2');
      return w?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'NoDatabaseServer');
    });
    expect(waiting.message).toMatch(/default is Cordoned.*is Cordoned/);
    expect((await placedOn(any, 'w1'))?.databaseServer).toBe(serverB);
    await api.mergePatch(Resources.DatabaseServer, { name: serverB }, { spec: { state: 'Active' } });
    await waitReady(api, Resources.Workspace, any, 'w2');
    expect((await placedOn(any, 'w2'))?.databaseServer).toBe(serverB);
  });

  it('fails only the workspaces of a server that is down, and they converge when it is back', async () => {
    await a.stop('fast');
    try {
      // New credentials for e1 need its server; w3 needs only b.
      await api.mergePatch(
        Resources.Workspace,
        { namespace: eu, name: 'e1' },
        { metadata: { annotations: { 'taskjuice.io/rotate-credentials': 'now' } } },
      );
      await waitCondition(api, Resources.Workspace, eu, 'e1', 'Ready', 'False');
      await createWorkspace(api, shard, any, 'w3');
      await waitReady(api, Resources.Workspace, any, 'w3');
      expect((await placedOn(any, 'w3'))?.databaseServer).toBe(serverB);
      await eventually(
        'server a reported unreachable',
        async () => {
          const s = (await read(api, Resources.DatabaseServer, undefined, serverA))?.status as
            { reachable?: boolean } | undefined;
          return s?.reachable === false ? true : undefined;
        },
        60_000,
      );
    } finally {
      await a.start();
    }
    await waitReady(api, Resources.Workspace, eu, 'e1', 90_000);
    const ns = (await read(api, Resources.Workspace, eu, 'e1'))?.status?.namespace ?? '';
    const rows = await withWorkspaceConnection(await secretData(api, ns, 'database-credentials'), (c) =>
      c.query('SELECT body FROM notes'),
    );
    expect(rows.rows).toEqual([{ body: 'on server a' }]);
  });

  it('drops a deleted workspace on the server it was placed on', async () => {
    await api.mergePatch(
      Resources.Workspace,
      { namespace: eu, name: 'e2' },
      { metadata: { annotations: { 'taskjuice.io/confirm-delete': 'e2' } } },
    );
    await api.delete(Resources.Workspace, { namespace: eu, name: 'e2' });
    await eventually('e2 dropped on server a', async () =>
      (await roleExists(a, eu, 'e2')) ? undefined : true,
    );
  });

  it('moves a workspace with a writer running: every committed row arrives, and the source copy goes', async () => {
    await createWorkspace(api, shard, any, 'mv');
    await waitReady(api, Resources.Workspace, any, 'mv');
    // From wherever it was placed to the other server of the file.
    const fromName = (await placedOn(any, 'mv'))?.databaseServer;
    const [toName, fromDb, toDb] = fromName === serverA ? [serverB, a, b] : [serverA, b, a];
    const ns = (await read(api, Resources.Workspace, any, 'mv'))?.status?.namespace ?? '';
    await withWorkspaceConnection(await secretData(api, ns, 'database-credentials'), async (c) => {
      await c.query('CREATE TABLE events (n integer PRIMARY KEY, at timestamptz DEFAULT now())');
      await c.query('INSERT INTO events (n) SELECT g FROM generate_series(1, 5000) g');
    });
    // The client's writer: one row per transaction, through whatever its Secret says now.
    let stop = false;
    let next = 5001;
    const committed: number[] = [];
    const refused = new Set<string>();
    const writer = (async () => {
      while (!stop) {
        try {
          const c = new pg.Client({
            connectionString: (await secretData(api, ns, 'database-credentials')).uri,
          });
          // The server ends this session when the move begins: that is an answer, not a crash of the test.
          c.on('error', () => undefined);
          try {
            await c.connect();
            while (!stop) {
              await c.query('INSERT INTO events (n) VALUES ($1)', [next]);
              committed.push(next++);
            }
          } finally {
            await c.end().catch(() => undefined);
          }
        } catch (err) {
          refused.add(String((err as Error).message).replace(/"[^"]*"/g, '"…"'));
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
    await eventually('some writes before the move', async () => (committed.length > 20 ? true : undefined));
    await api.mergePatch(
      Resources.Workspace,
      { namespace: any, name: 'mv' },
      { metadata: { annotations: { 'taskjuice.io/move-to': toName } } },
    );
    await eventually(
      'the move to finish',
      async () => {
        const s = (await placedOn(any, 'mv')) as { databaseServer?: string; move?: unknown } | undefined;
        return s?.databaseServer === toName && s.move === undefined ? true : undefined;
      },
      90_000,
    );
    await eventually('writes again, on the target', async () => {
      const before = committed.length;
      await new Promise((r) => setTimeout(r, 200));
      return committed.length > before ? true : undefined;
    });
    stop = true;
    await writer;
    const data = await secretData(api, ns, 'database-credentials');
    expect(data.port).toBe(String(toDb.port));
    const rows = await withWorkspaceConnection(data, (c) =>
      c.query('SELECT count(*)::int AS n, max(n) AS top FROM events'),
    );
    // Every committed row is there, and no other: 5,000 before, and the writer's.
    expect(rows.rows[0]).toEqual({ n: 5000 + committed.length, top: committed.at(-1) });
    expect(await roleExists(fromDb, any, 'mv')).toBe(false);
    expect(await roleExists(toDb, any, 'mv')).toBe(true);
    // What the writer met meanwhile: the source refusing logins or ending its session, nothing else; or, with a
    // Secret read just before the switch, the source's role already dropped by the clean-up.
    for (const message of refused) {
      expect(message).toMatch(
        /not permitted to log in|terminating connection|Connection terminated|connection error and is not queryable|ECONNRESET|role "…" does not exist/,
      );
    }
    await waitEvent(api, any, 'mv', 'Moved', 'Normal');
  });

  it('drains a server: every workspace on it moves elsewhere, a bounded number at a time', async () => {
    await api.mergePatch(Resources.DatabaseServer, { name: serverA }, { spec: { capacity: 20 } });
    const onB = async () =>
      (await api.list(Resources.Workspace, { namespace: any })).items.filter(
        (w) => (w as { status?: { databaseServer?: string } }).status?.databaseServer === serverB,
      ).length;
    expect(await onB()).toBeGreaterThanOrEqual(3);
    await api.mergePatch(Resources.DatabaseServer, { name: serverB }, { spec: { state: 'Draining' } });
    let most = 0;
    await eventually(
      'server b drained',
      async () => {
        const items = (await api.list(Resources.Workspace, { namespace: any })).items as {
          status?: { databaseServer?: string; move?: unknown };
        }[];
        most = Math.max(most, items.filter((w) => w.status?.move).length);
        return items.every((w) => w.status?.databaseServer === serverA && !w.status?.move) ? true : undefined;
      },
      120_000,
      50,
    );
    expect(most).toBeLessThanOrEqual(2);
    for (const slug of ['w1', 'w2', 'w3']) await waitReady(api, Resources.Workspace, any, slug);
    await eventually('server b empty', async () => {
      const s = (await read(api, Resources.DatabaseServer, undefined, serverB))?.status as
        { workspaces?: number } | undefined;
      return s?.workspaces === 0 ? true : undefined;
    });
    await api.mergePatch(Resources.DatabaseServer, { name: serverB }, { spec: { state: 'Active' } });
    await eventually('b active again in the operator’s cache', async () =>
      operator.caches.databaseServers.get(serverB)?.spec?.state === 'Active' ? true : undefined,
    );
  });

  it('rolls a move back to the untouched source when the target is down, and moves once it is back', async () => {
    await createWorkspace(api, shard, any, 'rb');
    await waitReady(api, Resources.Workspace, any, 'rb');
    const fromName = (await placedOn(any, 'rb'))?.databaseServer;
    const [toName, fromDb, toDb] = fromName === serverA ? [serverB, a, b] : [serverA, b, a];
    const ns = (await read(api, Resources.Workspace, any, 'rb'))?.status?.namespace ?? '';
    await withWorkspaceConnection(await secretData(api, ns, 'database-credentials'), async (c) => {
      await c.query('CREATE TABLE kept (n integer)');
      await c.query('INSERT INTO kept SELECT generate_series(1, 100)');
    });
    await toDb.stop('fast');
    try {
      await api.mergePatch(
        Resources.Workspace,
        { namespace: any, name: 'rb' },
        { metadata: { annotations: { 'taskjuice.io/move-to': toName } } },
      );
      const failed = await eventually('the move to fail and roll back', async () => {
        const w = await read(api, Resources.Workspace, any, 'rb');
        return w?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'MoveFailed');
      });
      expect(failed.message).toContain(`the workspace stays on ${fromName}`);
      // The source takes logins again, with every row.
      const rows = await withWorkspaceConnection(await secretData(api, ns, 'database-credentials'), (c) =>
        c.query('SELECT count(*)::int AS n FROM kept'),
      );
      expect(rows.rows[0]).toEqual({ n: 100 });
      expect((await placedOn(any, 'rb'))?.databaseServer).toBe(fromName);
    } finally {
      await toDb.start();
    }
    await eventually(
      'the move to go through once the target is back',
      async () => ((await placedOn(any, 'rb'))?.databaseServer === toName ? true : undefined),
      120_000,
    );
    await waitReady(api, Resources.Workspace, any, 'rb');
    const rows = await withWorkspaceConnection(await secretData(api, ns, 'database-credentials'), (c) =>
      c.query('SELECT count(*)::int AS n FROM kept'),
    );
    expect(rows.rows[0]).toEqual({ n: 100 });
    expect(await roleExists(fromDb, any, 'rb')).toBe(false);
  });

  it('resumes a move that an operator stopped half-way, from the phase its status records', async () => {
    await createWorkspace(api, shard, any, 'rs');
    await waitReady(api, Resources.Workspace, any, 'rs');
    const fromName = (await placedOn(any, 'rs'))?.databaseServer ?? '';
    const [toName, toDb] = fromName === serverA ? [serverB, b] : [serverA, a];
    const ns = (await read(api, Resources.Workspace, any, 'rs'))?.status?.namespace ?? '';
    await withWorkspaceConnection(await secretData(api, ns, 'database-credentials'), async (c) => {
      await c.query('CREATE TABLE kept (n integer)');
      await c.query('INSERT INTO kept SELECT generate_series(1, 42)');
    });
    // What an operator killed right after it began leaves: the move recorded, the source's logins refused.
    await operator.stop();
    // Written as the operator writes its status (its field manager owns the whole of it, as after a real start).
    const current = (await read(api, Resources.Workspace, any, 'rs'))?.status ?? {};
    await api.apply(
      Resources.Workspace,
      {
        metadata: { name: 'rs', namespace: any },
        status: {
          ...current,
          move: { from: fromName, to: toName, phase: 'Copying', startedAt: new Date().toISOString() },
        },
      },
      { subresource: 'status' },
    );
    const src = fromName === serverA ? a : b;
    const c = new pg.Client({ connectionString: src.adminUrl });
    await c.connect();
    await c.query(`ALTER ROLE ${pg.escapeIdentifier(tenantNames('ws', any, 'rs').role)} NOLOGIN`);
    await c.end();
    ({ operator } = await startOperator({ shard, leaseNamespace: leaseNs }));
    await eventually(
      'the resumed move to finish',
      async () => {
        const s = (await placedOn(any, 'rs')) as { databaseServer?: string; move?: unknown } | undefined;
        return s?.databaseServer === toName && s.move === undefined ? true : undefined;
      },
      120_000,
    );
    await waitReady(api, Resources.Workspace, any, 'rs');
    const data = await secretData(api, ns, 'database-credentials');
    expect(data.port).toBe(String(toDb.port));
    const rows = await withWorkspaceConnection(data, (c2) => c2.query('SELECT count(*)::int AS n FROM kept'));
    expect(rows.rows[0]).toEqual({ n: 42 });
  });
});

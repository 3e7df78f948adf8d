import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tenantNames, workspaceNamespace } from '../../operator/src/db/names.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  read,
  secretData,
  waitReady,
  withWorkspaceConnection,
} from '../support/fixtures.js';
import { testEnvironment } from '../support/operator.js';
import { spawnOperator, type OperatorProcess } from '../support/process.js';

let api: Api;
const shard = uniqueName('restart');
const leaseNs = uniqueName('lease');
const env = () => testEnvironment({ shard, leaseNamespace: leaseNs, env: { LOG_LEVEL: 'info' } });
let running: OperatorProcess | undefined;
const logFiles: string[] = [];
const passwords: string[] = [];

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
});

afterAll(async () => {
  await running?.kill('SIGKILL');
  await api.delete(Resources.Namespace, { name: leaseNs });
  api.client.close();
});

async function restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await running?.kill(signal);
  running = spawnOperator(env());
  logFiles.push(running.logFile);
}

const count = (rows: { n: string }[]) => Number(rows[0]?.n);

describe('an operator that stops and starts', () => {
  it('converges after being killed at random points of provisioning, with working credentials and no orphans', async () => {
    const account = uniqueName('kill');
    await createAccount(api, shard, account, { plan: 'scale', wait: false });
    await restart();
    await waitReady(api, Resources.Account, undefined, account);
    for (let i = 0; i < 6; i++) {
      const slug = `ws-${i}`;
      await createWorkspace(api, shard, account, slug);
      // Kill it somewhere between first sight and Ready; a fresh process picks up where it stopped.
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
      await restart('SIGKILL');
    }
    for (let i = 0; i < 6; i++) {
      const slug = `ws-${i}`;
      const ws = await waitReady(api, Resources.Workspace, account, slug, 90_000);
      expect(ws.status?.phase).toBe('Ready');
      const data = await secretData(api, workspaceNamespace(account, slug), 'database-credentials');
      const schema = await withWorkspaceConnection(
        data,
        async (c) => (await c.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s,
      );
      expect(schema).toBe(tenantNames('ws', account, slug).schema);
    }
    // No orphans: exactly one schema and one role per workspace of the account, nothing half-made beside them.
    const client = new pg.Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    const prefix = `ws\\_${account.replace(/-/g, '\\_')}\\_%`;
    const { rows } = await client.query<{ kind: string; n: string }>(
      `SELECT 'schema' AS kind, count(*) AS n FROM pg_namespace WHERE nspname LIKE $1
       UNION ALL SELECT 'role', count(*) FROM pg_roles WHERE rolname LIKE $1`,
      [prefix],
    );
    await client.end();
    expect(rows.map((r) => [r.kind, Number(r.n)])).toEqual([
      ['schema', 6],
      ['role', 6],
    ]);
  });

  it('keeps the rows a workspace wrote through restarts, spec edits, credential rotation and a deleted Secret', async () => {
    const account = uniqueName('keep');
    await createAccount(api, shard, account, { wait: false });
    if (!running) await restart();
    await waitReady(api, Resources.Account, undefined, account);
    await createWorkspace(api, shard, account, 'data');
    await waitReady(api, Resources.Workspace, account, 'data');
    const namespace = workspaceNamespace(account, 'data');
    const first = await secretData(api, namespace, 'database-credentials');
    await withWorkspaceConnection(first, (c) =>
      c.query("CREATE TABLE t (v text); INSERT INTO t VALUES ('1'), ('2'), ('3')"),
    );

    // Another tool's annotation on the Secret must survive every later write of the operator.
    await api.mergePatch(
      Resources.Secret,
      { namespace, name: 'database-credentials' },
      { metadata: { annotations: { 'example.com/owner': 'team-a' } } },
    );

    await restart('SIGTERM');
    await api.mergePatch(
      Resources.Workspace,
      { namespace: account, name: 'data' },
      { spec: { displayName: 'Edited', betaOptIn: false } },
    );
    await waitReady(api, Resources.Workspace, account, 'data');

    await api.mergePatch(
      Resources.Workspace,
      { namespace: account, name: 'data' },
      { metadata: { annotations: { 'taskjuice.io/rotate-credentials': 'r1' } } },
    );
    const rotated = await eventually('the rotated password', async () => {
      const ws = await read(api, Resources.Workspace, account, 'data');
      const d = await secretData(api, namespace, 'database-credentials');
      return d.password !== first.password &&
        (ws?.status as { database?: { rotation?: string } })?.database?.rotation === 'r1'
        ? d
        : undefined;
    });
    await waitReady(api, Resources.Workspace, account, 'data');
    passwords.push(first.password as string, rotated.password as string);
    const annotated = (await api.get(Resources.Secret, { namespace, name: 'database-credentials' })) as {
      metadata: { annotations?: Record<string, string> };
    };
    expect(annotated.metadata.annotations?.['example.com/owner']).toBe('team-a');
    expect(
      count(
        await withWorkspaceConnection(
          rotated,
          async (c) => (await c.query<{ n: string }>('SELECT count(*) AS n FROM t')).rows,
        ),
      ),
    ).toBe(3);
    await expect(withWorkspaceConnection(first, (c) => c.query('SELECT 1'))).rejects.toThrow(
      /password authentication failed/,
    );

    await api.delete(Resources.Secret, { namespace, name: 'database-credentials' });
    const recreated = await eventually('the Secret to come back with a new password', async () => {
      const d = await api.get(Resources.Secret, { namespace, name: 'database-credentials' });
      if (!d) return undefined;
      const data = await secretData(api, namespace, 'database-credentials');
      return data.password !== rotated.password ? data : undefined;
    });
    await eventually('the recreated credentials to log in', async () =>
      withWorkspaceConnection(recreated, async (c) =>
        count((await c.query<{ n: string }>('SELECT count(*) AS n FROM t')).rows),
      ).then((n) => (n === 3 ? true : undefined)),
    );

    await restart('SIGKILL');
    await api.mergePatch(
      Resources.Workspace,
      { namespace: account, name: 'data' },
      { spec: { displayName: 'After restart' } },
    );
    await waitReady(api, Resources.Workspace, account, 'data');
    const last = await secretData(api, namespace, 'database-credentials');
    expect(last.password).toBe(recreated.password);
    expect(
      count(
        await withWorkspaceConnection(
          last,
          async (c) => (await c.query<{ n: string }>('SELECT count(*) AS n FROM t')).rows,
        ),
      ),
    ).toBe(3);
    passwords.push(last.password as string);
  });

  it('never writes a password to its log', async () => {
    await running?.kill('SIGTERM');
    running = undefined;
    const logs = logFiles.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(logs).toMatch(/operator started/);
    expect(passwords.length).toBeGreaterThanOrEqual(3);
    for (const password of passwords) expect(logs).not.toContain(password);
  });
});

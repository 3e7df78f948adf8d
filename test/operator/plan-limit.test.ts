import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QUOTA_NAME } from '../../operator/src/domain/children.js';
import { tenantNames, workspaceNamespace } from '../../operator/src/db/names.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, read, waitReady, waitEvent } from '../support/fixtures.js';
import { kubectlTable } from '../support/kubectl.js';
import { startOperator } from '../support/operator.js';

let api: Api;
let operator: Operator | undefined;
const shard = uniqueName('planlimit');
const leaseNs = uniqueName('lease');
const start = async () => ({ operator } = await startOperator({ shard, leaseNamespace: leaseNs }));

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
  await start();
});

afterAll(async () => {
  await operator?.stop();
  await api.delete(Resources.Namespace, { name: leaseNs });
  api.client.close();
});

async function schemaExists(account: string, slug: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const { schema } = tenantNames('ws', account, slug);
    const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    return rows.length > 0;
  } finally {
    await client.end();
  }
}

const waiting = async (account: string, slug: string) =>
  eventually(`${slug} to wait for the plan`, async () => {
    const w = await read(api, Resources.Workspace, account, slug);
    const stalled = w?.status?.conditions?.find((c) => c.type === 'Stalled');
    return stalled?.status === 'True' && stalled.reason === 'OverPlanLimit' ? w : undefined;
  });

describe('a workspace beyond its plan', () => {
  it('waits unprovisioned, in creation order, and is provisioned when a place frees up', async () => {
    // Three workspaces stored on a larger plan, the plan lowered to one before the operator saw them: the
    // state a quota recount race leaves behind, made on purpose.
    const account = uniqueName('shrink');
    await createAccount(api, shard, account, { plan: 'growth' });
    await operator?.stop();
    operator = undefined;
    for (const slug of ['first', 'second', 'third']) await createWorkspace(api, shard, account, slug);
    await api.mergePatch(Resources.Account, { name: account }, { spec: { plan: 'starter' } });
    await start();

    await waitReady(api, Resources.Workspace, account, 'first');
    for (const slug of ['second', 'third']) {
      const w = await waiting(account, slug);
      expect(w.status?.phase).toBe('Failed');
      expect(w.status?.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(
        /plan starter of account \S+ allows 1 workspace and 1 was created before this one/,
      );
      // Nothing of it is provisioned, and its parts do not say otherwise.
      for (const part of ['NamespaceReady', 'AccessReady', 'CredentialsReady', 'DatabaseReady']) {
        expect(w.status?.conditions?.find((c) => c.type === part)).toMatchObject({
          status: 'False',
          reason: 'OverPlanLimit',
        });
      }
      expect(await schemaExists(account, slug)).toBe(false);
      expect(await api.get(Resources.Namespace, { name: workspaceNamespace(account, slug) })).toBeUndefined();
    }
    const events = (await api.list(Resources.Event, { namespace: account })).items as {
      regarding: { name: string };
      reason: string;
    }[];
    expect(
      events
        .filter((e) => e.reason === 'OverPlanLimit')
        .map((e) => e.regarding.name)
        .sort(),
    ).toEqual(['second', 'third']);

    await api.delete(Resources.Workspace, { namespace: account, name: 'first' });
    const second = await waitReady(api, Resources.Workspace, account, 'second');
    expect(second.status?.phase).toBe('Ready');
    expect(await schemaExists(account, 'second')).toBe(true);
    await waiting(account, 'third');
    expect(await schemaExists(account, 'third')).toBe(false);
  });

  it('never takes a provisioned workspace away when the plan is lowered, and the account says it no longer fits', async () => {
    const account = uniqueName('lower');
    await createAccount(api, shard, account, { plan: 'growth' });
    for (const slug of ['one', 'two']) await createWorkspace(api, shard, account, slug);
    for (const slug of ['one', 'two']) await waitReady(api, Resources.Workspace, account, slug);
    const edited = (await api.mergePatch(
      Resources.Account,
      { name: account },
      { spec: { plan: 'starter' } },
    )) as { metadata: { generation: number } };
    await eventually('the account to take the lower plan', async () => {
      const a = await read(api, Resources.Account, undefined, account);
      return a?.status?.plan?.workspaceLimit === 1 &&
        a.status.conditions?.find((c) => c.type === 'Ready')?.observedGeneration ===
          edited.metadata.generation
        ? true
        : undefined;
    });
    for (const slug of ['one', 'two']) {
      const w = await read(api, Resources.Workspace, account, slug);
      expect(w?.status?.phase).toBe('Ready');
      expect(await schemaExists(account, slug)).toBe(true);
    }
    // Over its plan: not Ready (Argo CD: Degraded) until a person raises the plan or deletes a workspace.
    const over = await read(api, Resources.Account, undefined, account);
    const byType = Object.fromEntries((over?.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.Ready).toMatchObject({ status: 'False', reason: 'OverPlanLimit' });
    expect(byType.Stalled).toMatchObject({ status: 'True', reason: 'OverPlanLimit' });
    expect(byType.Stalled?.message).toBe(
      `account ${account} has 2 workspaces, more than plan starter allows (1); no workspace can be created until the plan is raised or 1 workspace deleted`,
    );
    await waitEvent(api, 'default', account, 'OverPlanLimit', 'Warning');
  });

  it('follows the workspace limit Support set on the account, in its quota, status and messages', async () => {
    const account = uniqueName('raised');
    await createAccount(api, shard, account, { plan: 'starter', workspaceLimit: 2 });
    const quota = async () =>
      (
        (await api.get(Resources.ResourceQuota, { namespace: account, name: QUOTA_NAME })) as {
          spec: { hard: Record<string, string> };
        }
      ).spec.hard['count/workspaces.taskjuice.io'];
    expect(await quota()).toBe('2');
    const raised = await read(api, Resources.Account, undefined, account);
    expect(raised?.status?.plan).toEqual({
      name: 'starter',
      resolved: true,
      workspaceLimit: 2,
      planLimit: 1,
      limitSource: 'Override',
    });
    const planResolved = raised?.status?.conditions?.find((c) => c.type === 'PlanResolved');
    expect(planResolved?.message).toBe(
      'plan starter allows 1 workspace; spec.workspaceLimit overrides it: 2 workspaces',
    );
    // Beyond the plan's 1, within the override: both are provisioned.
    for (const slug of ['one', 'two']) await createWorkspace(api, shard, account, slug);
    for (const slug of ['one', 'two']) await waitReady(api, Resources.Workspace, account, slug);
    const ready = await eventually('the account to count both', async () => {
      const a = await read(api, Resources.Account, undefined, account);
      return a?.status?.workspaceCount === 2 ? a : undefined;
    });
    expect(ready.status?.conditions?.find((c) => c.type === 'Ready')?.message).toBe(
      `Home namespace ${account}, 2 of 2 workspaces used; the limit is set by spec.workspaceLimit (plan starter allows 1)`,
    );
    expect(await kubectlTable(['accounts', account])).toEqual([
      expect.objectContaining({ PLAN: 'starter', LIMIT: '2', 'LIMIT FROM': 'Override', WORKSPACES: '2' }),
    ]);
    // The quota itself refuses a third: the atomic backstop follows the override, not the plan.
    await expect(createWorkspace(api, shard, account, 'three')).rejects.toThrow(/exceeded quota/);

    // Support lowers the override below the count: the account says which limit it no longer fits.
    await api.mergePatch(Resources.Account, { name: account }, { spec: { workspaceLimit: 1 } });
    await eventually('the quota to follow the lowered override', async () =>
      (await quota()) === '1' ? true : undefined,
    );
    const over = await eventually('the account to be over its override', async () => {
      const a = await read(api, Resources.Account, undefined, account);
      const stalled = a?.status?.conditions?.find((c) => c.type === 'Stalled');
      return stalled?.status === 'True' ? stalled : undefined;
    });
    expect(over.message).toBe(
      `account ${account} has 2 workspaces, more than the limit of 1 workspace set by spec.workspaceLimit (plan starter allows 1); no workspace can be created until Support raises spec.workspaceLimit or 1 workspace deleted`,
    );

    // Without the override the plan's limit is back, and so is the plan's wording.
    await api.jsonPatch(Resources.Account, { name: account }, [
      { op: 'remove', path: '/spec/workspaceLimit' },
    ]);
    const back = await eventually('the account to take its plan limit again', async () => {
      const a = await read(api, Resources.Account, undefined, account);
      return a?.status?.plan?.limitSource === 'Plan' ? a : undefined;
    });
    expect(back.status?.plan).toMatchObject({ workspaceLimit: 1, planLimit: 1 });
    expect(await quota()).toBe('1');
  });
});

import pg from 'pg';
import { expect } from 'vitest';
import { errorMessage, isCode } from '../../operator/src/errors.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources, type ResourceType } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { eventually, uniqueName } from './env.js';
import { SHARD_LABEL, startOperator } from './operator.js';

export interface Teammate {
  email: string;
  role: 'Owner' | 'Admin' | 'Member';
}

interface StatusView {
  metadata: { name: string; namespace?: string; generation?: number; resourceVersion?: string; uid?: string };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    phase?: string;
    namespace?: string;
    database?: { schema: string; role: string; secretName: string };
    binding?: { name: string };
    clients?: string[];
    clientCount?: number;
    workspaceCount?: number;
    plan?: {
      name?: string;
      resolved: boolean;
      workspaceLimit: number;
      planLimit?: number;
      limitSource?: string;
    };
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      observedGeneration?: number;
    }[];
  };
}

export async function createAccount(
  api: Api,
  shard: string,
  name: string,
  opts: {
    plan?: string;
    workspaceLimit?: number;
    teammates?: Teammate[];
    displayName?: string;
    wait?: boolean;
  } = {},
): Promise<void> {
  await api.create(Resources.Account, {
    metadata: { name, labels: { [SHARD_LABEL]: shard } },
    spec: {
      displayName: opts.displayName ?? `Agency ${name}`,
      plan: opts.plan ?? 'growth',
      ...(opts.workspaceLimit === undefined ? {} : { workspaceLimit: opts.workspaceLimit }),
      teammates: opts.teammates ?? [{ email: `owner@${name}.example`, role: 'Owner' }],
    },
  });
  // Workspaces live in the account's home namespace, which exists once the account is Ready.
  if (opts.wait ?? true) await waitReady(api, Resources.Account, undefined, name);
}

/**
 * Runs a write again when the API server's quota admission answered 409: it updates the namespace's ResourceQuota
 * on every create, and a burst of creates and deletes can change that quota under it. Clients retry that conflict
 * (client-go's callers do); it says nothing about the object written.
 */
export async function retryingQuotaConflicts<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const quota = isCode(err, 'Conflict') && /resourcequotas/.test(errorMessage(err));
      if (!quota || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

export async function createWorkspace(
  api: Api,
  shard: string,
  account: string,
  slug: string,
  spec: Record<string, unknown> = {},
): Promise<void> {
  await api.create(Resources.Workspace, {
    metadata: { name: slug, namespace: account, labels: { [SHARD_LABEL]: shard } },
    spec: { displayName: `Client ${slug}`, ...spec },
  });
}

export async function read(
  api: Api,
  r: ResourceType,
  namespace: string | undefined,
  name: string,
): Promise<StatusView | undefined> {
  return (await api.get(r, { namespace, name })) as StatusView | undefined;
}

const condition = (obj: StatusView | undefined, type: string) =>
  obj?.status?.conditions?.find((c) => c.type === type);

/** Waits until the object is Ready=True for its current generation (what `kubectl wait --for=condition=Ready` does). */
export async function waitReady(
  api: Api,
  r: ResourceType,
  namespace: string | undefined,
  name: string,
  timeoutMs = 60_000,
): Promise<StatusView> {
  return eventually(
    `${r.kind} ${namespace ? namespace + '/' : ''}${name} to be Ready`,
    async () => {
      const obj = await read(api, r, namespace, name);
      const ready = condition(obj, 'Ready');
      return obj &&
        ready?.status === 'True' &&
        ready.observedGeneration === obj.metadata.generation &&
        obj.status?.observedGeneration === obj.metadata.generation
        ? obj
        : undefined;
    },
    timeoutMs,
  );
}

export async function waitCondition(
  api: Api,
  r: ResourceType,
  namespace: string | undefined,
  name: string,
  type: string,
  status: 'True' | 'False',
  timeoutMs = 60_000,
): Promise<StatusView> {
  return eventually(
    `${r.kind} ${name} ${type}=${status}`,
    async () => {
      const obj = await read(api, r, namespace, name);
      return condition(obj, type)?.status === status ? obj : undefined;
    },
    timeoutMs,
  );
}

export async function waitGone(
  api: Api,
  r: ResourceType,
  namespace: string | undefined,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(
    `${r.kind} ${name} to be deleted`,
    async () => ((await api.get(r, { namespace, name })) === undefined ? true : undefined),
    timeoutMs,
  );
}

/** The decoded entries of a Secret. */
export async function secretData(api: Api, namespace: string, name: string): Promise<Record<string, string>> {
  const s = (await api.get(Resources.Secret, { namespace, name })) as
    { data?: Record<string, string> } | undefined;
  expect(s, `Secret ${namespace}/${name}`).toBeDefined();
  return Object.fromEntries(
    Object.entries(s?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** Runs `fn` with a connection made from a workspace's Secret, exactly as an application would (its `uri`). */
export async function withWorkspaceConnection<T>(
  data: Record<string, string>,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: data.uri });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Waits for an Event of `type` and `reason` on the named object (an Account's go to namespace `default`). */
export async function waitEvent(
  api: Api,
  namespace: string,
  name: string,
  reason: string,
  type: 'Normal' | 'Warning',
): Promise<void> {
  await eventually(`a ${type} Event ${reason} on ${name}`, async () => {
    const events = (await api.list(Resources.Event, { namespace })).items as {
      regarding: { name: string };
      reason: string;
      type: string;
    }[];
    return events.some((e) => e.regarding.name === name && e.reason === reason && e.type === type)
      ? true
      : undefined;
  });
}

/**
 * An operator of the file's own shard, an account with an Owner and `member` as a Member, and its workspace `web`
 * Ready: the stage of an attack by a teammate. `stop` ends the operator and removes its Lease namespace.
 */
export async function accountWithMember(
  api: Api,
  shard: string,
  account: string,
  member: string,
): Promise<{ operator: Operator; stop(): Promise<void> }> {
  const leaseNamespace = uniqueName('lease');
  await api.create(Resources.Namespace, { metadata: { name: leaseNamespace } });
  const { operator } = await startOperator({ shard, leaseNamespace });
  await createAccount(api, shard, account, {
    teammates: [
      { email: `olivia@${account}.example`, role: 'Owner' },
      { email: member, role: 'Member' },
    ],
  });
  await createWorkspace(api, shard, account, 'web');
  await waitReady(api, Resources.Workspace, account, 'web');
  return {
    operator,
    async stop() {
      await operator.stop();
      await api.delete(Resources.Namespace, { name: leaseNamespace });
    },
  };
}

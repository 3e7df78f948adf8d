import {
  progressingConditions,
  readyConditions,
  setConditions,
  type ConditionInput,
} from '../../src/api/conditions.js';
import { Labels } from '../../src/api/v1alpha1/group.js';
import type { Config } from '../../src/config.js';
import { plain } from '../../src/kube/status.js';
import {
  FINALIZER,
  credentialsHash,
  credentialsSecret,
  isolationPolicy,
  staffBinding,
  workspaceLimitRange,
  workspaceNamespaceObject,
  workspaceQuota,
} from '../../src/controllers/workspace/desired.js';
import type { Database } from '../../src/db/database.js';
import { tenantNames, workspaceNamespace } from '../../src/db/names.js';
import { newPassword } from '../../src/db/scram.js';
import type { Api } from '../../src/kube/api.js';
import { EventRecorder } from '../../src/kube/events.js';
import type { CachedObject } from '../../src/kube/informer.js';
import { countQuantity } from '../../src/kube/quantity.js';
import { Resources } from '../../src/kube/resources.js';
import { silentLogger } from '../../src/log.js';
import { delay, eachLimit } from './common.js';
import { BENCH_LIMIT, accountBody, workspaceBody } from './objects.js';
import { QUOTA_NAME, QUOTA_RESOURCE, SECRET_NAME } from '../../src/domain/children.js';

/**
 * The floor: the API writes and SQL the operator issues for one new workspace (read
 * operator/src/controllers/workspace/reconcile.ts), issued by a plain script with no informers, no cache and no
 * work queue, at the operator's concurrency. Per workspace:
 *
 *   create the Workspace (the client's write, as in the operator run)
 *   SSA finalizer  ∥  status write (Provisioning)
 *   namespace create
 *   staff RoleBinding apply  ∥  NetworkPolicy apply  ∥  Secret apply (fresh password)
 *   Database.provisionTenant (BEGIN + SET LOCAL, one DO block, COMMIT)
 *   status write (Ready)
 *   Event create (not waited for, as the operator does not wait for it)
 *
 * Children carry a `managed-by` label of their own, so the operator started after the floor never caches them.
 */

export const FLOOR_MANAGED_BY = 'workspace-operator-bench-floor';

export interface FloorAccount {
  name: string;
  object: CachedObject;
  teammates: string[];
}

export interface FloorOptions {
  api: Api;
  db: Database;
  accounts: FloorAccount[];
  /** Workspaces to create, as [account, slug]. */
  workspaces: [string, string][];
  labels: Record<string, string>;
  /** Concurrency of the creating client. */
  createConcurrency: number;
  /** Concurrency of the per-workspace writes: the operator's RECONCILE_WORKERS. */
  workers: number;
  endpoint: { host: string; port: number; database: string };
  staffClusterRole: string;
  /** The operator's workspace bounds: Pod Security level, quota and container limits. */
  workspaceBounds: Config['workspaces'];
}

export interface FloorResult {
  totalMs: number;
  /** Per workspace: from the create's response to the response of the Ready status write. */
  latencies: number[];
}

/** Sets up the floor's accounts as the Account controller would: home namespace and quota, counted. */
export async function prepareFloorAccounts(
  api: Api,
  names: string[],
  labels: Record<string, string>,
): Promise<FloorAccount[]> {
  const accounts: FloorAccount[] = [];
  for (const name of names) {
    const body = accountBody(name, labels);
    const object = (await api.create(Resources.Account, body)) as CachedObject;
    const teammates = body.spec.teammates.map((t) => t.email);
    await api.create(Resources.Namespace, { metadata: { name, labels } });
    await api.create(Resources.ResourceQuota, {
      metadata: { name: QUOTA_NAME, namespace: name, labels },
      spec: { hard: { [QUOTA_RESOURCE]: countQuantity(BENCH_LIMIT) } },
    });
    accounts.push({ name, object, teammates });
  }
  // Until the quota controller has counted, the API server refuses creates in these namespaces.
  for (const { name } of accounts) {
    for (;;) {
      const q = (await api.get(Resources.ResourceQuota, { namespace: name, name: QUOTA_NAME })) as
        { status?: { used?: Record<string, string> } } | undefined;
      if (q?.status?.used?.[QUOTA_RESOURCE] !== undefined) break;
      await delay(250);
    }
  }
  return accounts;
}

function relabel<T extends { metadata: { labels?: Record<string, string> } }>(obj: T): T {
  return {
    ...obj,
    metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, [Labels.managedBy]: FLOOR_MANAGED_BY } },
  };
}

/** A counting semaphore: at most `size` holders at once. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

const condition = (type: string, message: string): ConditionInput => ({
  type,
  status: 'True',
  reason: 'Done',
  message,
});

export async function runFloor(opts: FloorOptions): Promise<FloorResult> {
  const { api, db } = opts;
  const byName = new Map(opts.accounts.map((a) => [a.name, a]));
  const events = new EventRecorder(api, {
    controller: 'taskjuice.io/workspace-operator',
    instance: 'bench-floor',
    log: silentLogger,
  });
  const slots = new Slots(opts.workers);
  const latencies: number[] = [];
  const pipelines: Promise<void>[] = [];
  const failures: unknown[] = [];

  const provision = async (account: FloorAccount, created: CachedObject, createdAt: number) => {
    await slots.acquire();
    try {
      const slug = created.metadata.name;
      const ref = { name: slug, namespace: account.name };
      const generation = created.metadata.generation ?? 1;
      const now = new Date();
      const provisioning = setConditions(
        [],
        progressingConditions('Provisioning', 'Provisioning the namespace, database and credentials'),
        generation,
        now,
      );
      await Promise.all([
        api.apply(Resources.Workspace, { metadata: { ...ref, finalizers: [FINALIZER] } }),
        api.apply(
          Resources.Workspace,
          {
            metadata: ref,
            status: plain({
              phase: 'Provisioning',
              observedGeneration: generation,
              conditions: provisioning,
            }),
          },
          { subresource: 'status' },
        ),
      ]);
      const names = tenantNames('ws', account.name, slug);
      const namespace = workspaceNamespace(account.name, slug);
      await api.create(
        Resources.Namespace,
        relabel(
          workspaceNamespaceObject(account.object, slug, namespace, opts.workspaceBounds.podSecurityLevel),
        ),
      );
      // The operator writes these before it gives anyone access; so does the floor.
      const quota = workspaceQuota(namespace, account.name, slug, opts.workspaceBounds.quota);
      const limits = workspaceLimitRange(namespace, account.name, slug, opts.workspaceBounds.limitRange);
      await Promise.all([
        quota ? api.apply(Resources.ResourceQuota, relabel(quota)) : undefined,
        limits ? api.apply(Resources.LimitRange, relabel(limits)) : undefined,
      ]);
      const password = newPassword();
      const staff = staffBinding(namespace, account.name, slug, account.teammates, opts.staffClusterRole);
      await Promise.all([
        staff ? api.apply(Resources.RoleBinding, relabel(staff)) : undefined,
        api.apply(Resources.NetworkPolicy, relabel(isolationPolicy(namespace, account.name, slug))),
        api.apply(
          Resources.Secret,
          relabel(
            credentialsSecret(namespace, account.name, slug, names, password, {
              ...opts.endpoint,
              sslMode: undefined,
            }),
          ),
        ),
      ]);
      await db.provisionTenant(names, password);
      const ready = setConditions(
        provisioning,
        [
          condition('NamespaceReady', `Namespace ${namespace}`),
          condition('AccessReady', `${account.teammates.length} teammates, 0 clients`),
          condition('CredentialsReady', `Secret ${SECRET_NAME} in ${namespace}`),
          condition('DatabaseReady', `Schema ${names.schema} owned by role ${names.role}`),
          ...readyConditions('Provisioned', `Namespace ${namespace}, schema ${names.schema}`),
        ],
        generation,
        new Date(),
      );
      await api.apply(
        Resources.Workspace,
        {
          metadata: ref,
          status: plain({
            phase: 'Ready',
            observedGeneration: generation,
            namespace,
            database: {
              schema: names.schema,
              role: names.role,
              secretName: SECRET_NAME,
              credentialsHash: credentialsHash(password),
            },
            binding: { name: SECRET_NAME },
            clients: [],
            conditions: ready,
          }),
        },
        { subresource: 'status' },
      );
      latencies.push(performance.now() - createdAt);
      events.emit(
        created,
        'Normal',
        'Provisioned',
        'Provision',
        `Namespace ${namespace} and schema ${names.schema} are ready`,
      );
    } finally {
      slots.release();
    }
  };

  const started = performance.now();
  await eachLimit(opts.workspaces, opts.createConcurrency, async ([accountName, slug]) => {
    const account = byName.get(accountName);
    if (!account) throw new Error(`floor: no account ${accountName}`);
    const created = (await api.create(
      Resources.Workspace,
      workspaceBody(accountName, slug, opts.labels),
    )) as CachedObject;
    pipelines.push(
      provision(account, created, performance.now()).catch((err: unknown) => void failures.push(err)),
    );
  });
  await Promise.all(pipelines);
  if (failures.length > 0) throw failures[0];
  return { totalMs: performance.now() - started, latencies };
}

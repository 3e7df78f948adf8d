import { OrphansFound, Reason, type ConditionInput } from '../../api/conditions.js';
import { ownerOf } from '../../domain/children.js';
import type { TenantInventory } from '../../db/inventory.js';
import { tenantNames } from '../../db/names.js';
import { keyOf } from '../../kube/informer.js';
import type { Caches } from '../../caches.js';

export type OrphanKind = 'namespace' | 'schema' | 'role';

export interface Orphan {
  kind: OrphanKind;
  name: string;
  /** The workspace the object was made for, which no longer exists. */
  workspace: string;
}

/**
 * What the operator finds of its own making with no Workspace behind it: a workspace namespace whose Workspace is
 * gone, and that workspace's schema and role. Normally nothing: deletion drops them before the finalizer goes. A
 * Workspace that vanished some other way (its finalizer removed behind the operator's back, say) leaves them, and
 * they hold a client's data, so the operator reports them (condition and Event on the account, a metric) and never
 * deletes them by itself: a person decides.
 *
 * Only objects that name an account this operator watches count, so that operators sharing a database with other
 * scopes (a label selector) never report each other's tenants. A scan costs one pass over the cached namespaces; it
 * runs after deletions and with the drift check, and the account reconcile reads its result.
 */
export class OrphanReport {
  private byAccount = new Map<string, Orphan[]>();

  constructor(
    private readonly caches: Pick<Caches, 'accounts' | 'workspaces' | 'namespaces'>,
    private readonly inventory: Pick<TenantInventory, 'has'>,
    private readonly prefix: string,
  ) {}

  /** Looks again; returns the accounts whose orphans changed. */
  scan(): string[] {
    const next = new Map<string, Orphan[]>();
    for (const ns of this.caches.namespaces.list()) {
      const owner = ownerOf(ns.metadata.labels);
      if (owner?.component !== 'workspace' || ns.metadata.deletionTimestamp) continue;
      const { account, slug } = owner;
      if (!this.caches.accounts.get(account) || this.caches.workspaces.get(`${account}/${slug}`)) continue;
      const found: Orphan[] = [{ kind: 'namespace', name: keyOf(ns), workspace: slug }];
      const names = tenantNames(this.prefix, account, slug);
      if (this.inventory.has(names)) {
        found.push({ kind: 'schema', name: names.schema, workspace: slug });
        found.push({ kind: 'role', name: names.role, workspace: slug });
      }
      next.set(account, [...(next.get(account) ?? []), ...found]);
    }
    const changed = [...new Set([...next.keys(), ...this.byAccount.keys()])].filter(
      (a) => describe(next.get(a) ?? []) !== describe(this.byAccount.get(a) ?? []),
    );
    this.byAccount = next;
    return changed;
  }

  of(account: string): Orphan[] {
    return this.byAccount.get(account) ?? [];
  }

  counts(): Record<OrphanKind, number> {
    const counts: Record<OrphanKind, number> = { namespace: 0, schema: 0, role: 0 };
    for (const list of this.byAccount.values()) for (const o of list) counts[o.kind]++;
    return counts;
  }
}

function describe(orphans: Orphan[]): string {
  return orphans
    .map((o) => `${o.kind} ${o.name}`)
    .sort()
    .join(', ');
}

/** The account's condition: True, naming what was left behind and by which workspace, while there is any. */
export function orphansCondition(orphans: Orphan[]): ConditionInput {
  if (orphans.length === 0) {
    return { type: OrphansFound, status: 'False', reason: Reason.None, message: 'Nothing left behind' };
  }
  const workspaces = [...new Set(orphans.map((o) => o.workspace))].sort();
  const shown = describe(orphans.slice(0, 9));
  return {
    type: OrphansFound,
    status: 'True',
    reason: Reason.WorkspaceGone,
    message: `${orphans.length === 1 ? '1 object' : `${orphans.length} objects`} of deleted workspace ${workspaces.join(', ')} remain and may hold client data: ${shown}${orphans.length > 9 ? ', …' : ''}; recreate the Workspace to adopt them, or delete them`,
  };
}

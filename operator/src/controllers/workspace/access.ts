import type { AccountObject } from '../../caches.js';
import {
  CLIENTS_BINDING,
  clientConnectionsName,
  LIMIT_RANGE,
  RESOURCE_QUOTA,
  STAFF_BINDING,
  ownsWorkspaceNamespace,
} from '../../domain/children.js';
import { invitationState, isMember } from '../../domain/invitations.js';
import { staffOf } from '../../domain/teammates.js';
import { ensure, ensureAbsent, ensureOwnedNamespace, ensureRoleBinding } from '../../kube/apply.js';
import { Resources } from '../../kube/resources.js';
import type { ControllerContext } from '../context.js';
import { connectionEntries, lineageOf } from '../../domain/connections.js';
import {
  clientConnectionsAccess,
  clientsBinding,
  isolationPolicy,
  staffBinding,
  workspaceLimitRange,
  workspaceNamespaceObject,
  workspaceQuota,
} from './desired.js';

/** Where a workspace's children go: its account, its slug and its namespace. */
export interface Place {
  account: string;
  slug: string;
  namespace: string;
}

/**
 * The first phase: the workspace's namespace and its bounds. The bounds are in place before anyone is given
 * access: no pod and no connection of a teammate ever predates the quota, the container defaults or the isolation
 * policy.
 */
export async function ensureNamespace(
  ctx: ControllerContext,
  account: AccountObject,
  { account: name, slug, namespace }: Place,
): Promise<void> {
  const { api, caches, config } = ctx;
  await ensureOwnedNamespace(
    api,
    caches.namespaces,
    workspaceNamespaceObject(account, slug, namespace, config.workspaces.podSecurityLevel),
    ownsWorkspaceNamespace(name, slug),
  );
  const quota = workspaceQuota(
    namespace,
    name,
    slug,
    config.workspaces.quota,
    caches.quotas.get(`${namespace}/${RESOURCE_QUOTA}`)?.spec?.hard,
  );
  const limitRange = workspaceLimitRange(
    namespace,
    name,
    slug,
    config.workspaces.limitRange,
    caches.limitRanges.get(`${namespace}/${LIMIT_RANGE}`)?.spec?.limits?.[0],
  );
  await Promise.all([
    quota
      ? ensure(api, caches.quotas, Resources.ResourceQuota, quota)
      : ensureAbsent(api, caches.quotas, Resources.ResourceQuota, { namespace, name: RESOURCE_QUOTA }),
    limitRange
      ? ensure(api, caches.limitRanges, Resources.LimitRange, limitRange)
      : ensureAbsent(api, caches.limitRanges, Resources.LimitRange, { namespace, name: LIMIT_RANGE }),
    ensure(api, caches.networkPolicies, Resources.NetworkPolicy, isolationPolicy(namespace, name, slug)),
  ]);
}

/**
 * The access phase: the teammates who reach the workspace (all but those whose workspaces list leaves it out)
 * through the staff role, the accepted clients through the client role.
 */
export async function ensureAccess(
  ctx: ControllerContext,
  account: AccountObject,
  { account: name, slug, namespace }: Place,
): Promise<{ teammates: number; clients: string[] }> {
  const { api, caches, config } = ctx;
  const clients = clientsOf(ctx, name, slug);
  const teammates = staffOf(account.spec, slug);
  const staff = staffBinding(namespace, name, slug, teammates, config.rbac.staffClusterRole);
  const clientAccess = clientsBinding(namespace, name, slug, clients, config.rbac.clientClusterRole);
  await Promise.all([
    staff
      ? ensureRoleBinding(api, caches.roleBindings, staff)
      : ensureAbsent(api, caches.roleBindings, Resources.RoleBinding, { namespace, name: STAFF_BINDING }),
    clientAccess
      ? ensureRoleBinding(api, caches.roleBindings, clientAccess)
      : ensureAbsent(api, caches.roleBindings, Resources.RoleBinding, { namespace, name: CLIENTS_BINDING }),
    ensureClientConnections(ctx, name, slug, clients),
  ]);
  return { teammates: teammates.length, clients };
}

/**
 * The clients' reconnect rights in the home namespace: read this workspace's connections, write the Secrets their
 * lineages take credentials from. The webhook refuses them a lineage another workspace shares.
 */
async function ensureClientConnections(
  ctx: ControllerContext,
  account: string,
  slug: string,
  clients: string[],
): Promise<void> {
  const { api, caches } = ctx;
  const all = [...caches.connections.inNamespace(account)];
  const entries = connectionEntries(all);
  const own = all.filter((c) => c.spec?.workspace === slug && !c.metadata.deletionTimestamp);
  const secrets = new Set<string>();
  for (const c of own) {
    const lineage = lineageOf(c.metadata.name, entries);
    const secret = lineage.ok ? lineage.sourceSpec.credentials?.secretRef.name : undefined;
    if (secret) secrets.add(secret);
  }
  const names = own.map((c) => c.metadata.name).sort();
  const access = clientConnectionsAccess(account, slug, clients, names, [...secrets].sort());
  const key = { namespace: account, name: clientConnectionsName(slug) };
  if (!access) {
    await ensureAbsent(api, caches.roleBindings, Resources.RoleBinding, key);
    await ensureAbsent(api, caches.roles, Resources.Role, key);
    return;
  }
  await ensure(api, caches.roles, Resources.Role, access.role);
  await ensureRoleBinding(api, caches.roleBindings, access.binding);
}

/** Emails of the clients who accepted an invitation to this workspace and were not revoked. */
function clientsOf(ctx: ControllerContext, account: string, slug: string): string[] {
  const emails = new Set<string>();
  for (const inv of ctx.caches.invitations.inNamespace(account)) {
    const state = invitationState(inv);
    if (state.workspace === slug && state.email && isMember(state)) emails.add(state.email);
  }
  return [...emails].sort();
}

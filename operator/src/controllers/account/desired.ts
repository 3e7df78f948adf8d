import { canonicalOrSelf } from '../../api/email.js';
import type { AccountStatus, Teammate } from '../../api/v1alpha1/account.js';
import { API_VERSION } from '../../api/v1alpha1/group.js';
import {
  MANAGERS_BINDING,
  MEMBERS_BINDING,
  QUOTA_NAME,
  QUOTA_RESOURCE,
  homeLabels,
  podSecurityLabels,
  type PodSecurityLevel,
} from '../../domain/children.js';
import { roleBinding } from '../../domain/teammates.js';
import { ownerReference } from '../../kube/ownership.js';
import { countQuantity } from '../../kube/quantity.js';

export interface AccountRef {
  metadata: { name: string; uid?: string };
}

const owner = (account: AccountRef) =>
  ownerReference({ apiVersion: API_VERSION, kind: 'Account', metadata: account.metadata });

/**
 * The account's home namespace, named after it and owned by it, so deleting the account removes it. It holds no
 * workloads, so Pod Security keeps it that way for anyone who could create a pod there.
 */
export function homeNamespace(account: AccountRef, podSecurity: PodSecurityLevel) {
  return {
    metadata: {
      name: account.metadata.name,
      labels: { ...podSecurityLabels(podSecurity), ...homeLabels(account.metadata.name) },
      ownerReferences: [owner(account)],
    },
  };
}

/** Owners and Admins manage workspaces and invitations in the home namespace; Members read them. */
export function accountBindings(
  account: string,
  teammates: Teammate[],
  roles: { manager: string; member: string },
): { name: string; desired: ReturnType<typeof roleBinding> }[] {
  const labels = homeLabels(account);
  const managers = teammates.filter((t) => t.role !== 'Member').map((t) => t.email);
  const members = teammates.filter((t) => t.role === 'Member').map((t) => t.email);
  return [
    {
      name: MANAGERS_BINDING,
      desired: roleBinding(account, MANAGERS_BINDING, roles.manager, managers, labels),
    },
    { name: MEMBERS_BINDING, desired: roleBinding(account, MEMBERS_BINDING, roles.member, members, labels) },
  ];
}

/** The quota that makes the plan limit atomic: the API server itself refuses the create beyond it. */
export function workspaceQuota(account: string, limit: number) {
  return {
    metadata: { name: QUOTA_NAME, namespace: account, labels: homeLabels(account) },
    spec: { hard: { [QUOTA_RESOURCE]: countQuantity(limit) } },
  };
}

/** Which workspaces each teammate reaches, for status: all of them, or those of its list that exist. */
export function teammateReach(
  teammates: Teammate[],
  exists: (slug: string) => boolean,
): AccountStatus['teammates'] {
  return teammates.map((t) => ({
    email: canonicalOrSelf(t.email),
    role: t.role,
    ...(t.workspaces
      ? { access: 'Listed' as const, workspaces: t.workspaces.filter(exists).sort() }
      : { access: 'All' as const }),
  }));
}

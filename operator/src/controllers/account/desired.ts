import type { ConditionInput } from '../../api/conditions.js';
import { canonicalOrSelf } from '../../api/email.js';
import type { Teammate } from '../../api/v1alpha1/account.js';
import { API_VERSION, Labels } from '../../api/v1alpha1/group.js';
import { managedLabels, ownerReference } from '../../kube/ownership.js';
import { countQuantity } from '../../kube/quantity.js';
import { plural } from '../../api/text.js';

export const QUOTA_RESOURCE = 'count/workspaces.taskjuice.io';
export const QUOTA_NAME = 'taskjuice-workspaces';
export const MANAGERS_BINDING = 'taskjuice-account-managers';
export const MEMBERS_BINDING = 'taskjuice-account-members';
export const PlanResolved = 'PlanResolved';

export interface AccountRef {
  metadata: { name: string; uid?: string };
}

export interface ResolvedPlan {
  name: string | undefined;
  resolved: boolean;
  workspaceLimit: number;
  condition: ConditionInput;
}

/** The limit of the account's plan; a missing or unknown plan falls back to the most restrictive tier, 1. */
export function resolvePlan(plan: string | undefined, catalog: Record<string, number>): ResolvedPlan {
  const limit = plan === undefined ? undefined : catalog[plan];
  if (plan !== undefined && limit !== undefined) {
    return {
      name: plan,
      resolved: true,
      workspaceLimit: limit,
      condition: {
        type: PlanResolved,
        status: 'True',
        reason: 'PlanFound',
        message: `plan ${plan} allows ${plural(limit, 'workspace')}`,
      },
    };
  }
  const known = Object.keys(catalog).sort().join(', ');
  return {
    name: plan,
    resolved: false,
    workspaceLimit: 1,
    condition: {
      type: PlanResolved,
      status: 'False',
      reason: plan === undefined ? 'NoPlan' : 'UnknownPlan',
      message:
        plan === undefined
          ? `spec.plan is not set; the limit falls back to 1 workspace (plans: ${known})`
          : `plan ${plan} is not in the plan catalog (${known}); the limit falls back to 1 workspace`,
    },
  };
}

const owner = (account: AccountRef) =>
  ownerReference({ apiVersion: API_VERSION, kind: 'Account', metadata: account.metadata });

const homeLabels = (account: string) =>
  managedLabels({ [Labels.account]: account, [Labels.component]: 'home' });

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/**
 * The Pod Security admission labels of a namespace: the level is enforced, and audited and warned about, against
 * the policy of the API server's own version (`latest`), so a cluster upgrade tightens it with the cluster.
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const mode of ['enforce', 'audit', 'warn']) {
    labels[`pod-security.kubernetes.io/${mode}`] = level;
    labels[`pod-security.kubernetes.io/${mode}-version`] = 'latest';
  }
  return labels;
}

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

export function ownsHome(account: string, labels: Record<string, string> | undefined): boolean {
  return labels?.[Labels.account] === account && labels?.[Labels.component] === 'home';
}

export const userSubject = (email: string) => ({
  kind: 'User',
  apiGroup: 'rbac.authorization.k8s.io',
  name: canonicalOrSelf(email),
});

/** A RoleBinding in `namespace` of `clusterRole` to `emails`, or undefined when nobody holds it. */
export function roleBinding(
  namespace: string,
  name: string,
  clusterRole: string,
  emails: string[],
  labels: Record<string, string>,
) {
  if (emails.length === 0) return undefined;
  const names = [...new Set(emails.map(canonicalOrSelf))].sort();
  return {
    metadata: { name, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: names.map(userSubject),
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

import { GROUP } from './api/v1alpha1/group.js';

/**
 * Every RBAC rule of the project, in one place. The Helm chart and the cdk8s app both render these, and the
 * tests install the same objects, so what is tested is what ships.
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];

export const ACCOUNT_MANAGER_CLUSTER_ROLE = 'taskjuice-account-manager';
export const ACCOUNT_MEMBER_CLUSTER_ROLE = 'taskjuice-account-member';
export const STAFF_CLUSTER_ROLE = 'edit';
export const CLIENT_CLUSTER_ROLE = 'view';

/** Owners and Admins, bound in their account's home namespace: they create and delete workspaces and invitations. */
export const accountManagerRules: PolicyRule[] = [
  { apiGroups: [GROUP], resources: ['workspaces', 'clientinvitations'], verbs: [...READ, ...WRITE] },
  { apiGroups: [GROUP], resources: ['workspaces/status', 'clientinvitations/status'], verbs: READ },
  { apiGroups: [''], resources: ['events'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
];

/** Members, bound in the home namespace: they see the account's workspaces and work inside them, no more. */
export const accountMemberRules: PolicyRule[] = [
  { apiGroups: [GROUP], resources: ['workspaces', 'clientinvitations'], verbs: READ },
  { apiGroups: [GROUP], resources: ['workspaces/status', 'clientinvitations/status'], verbs: READ },
  { apiGroups: [''], resources: ['events'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
];

/**
 * The operator's own ClusterRole: exactly the verbs and resources it uses, no wildcards. It binds the account and
 * workspace roles (the `bind` verb, limited by name) rather than holding everything those roles grant.
 */
export function operatorRules(bindable: string[]): PolicyRule[] {
  return [
    {
      apiGroups: [GROUP],
      resources: ['accounts', 'workspaces', 'clientinvitations'],
      verbs: [...READ, 'patch', 'update'],
    },
    {
      apiGroups: [GROUP],
      resources: ['accounts/status', 'workspaces/status', 'clientinvitations/status'],
      verbs: ['get', 'patch', 'update'],
    },
    { apiGroups: [GROUP], resources: ['accounts/finalizers', 'workspaces/finalizers'], verbs: ['update'] },
    { apiGroups: [''], resources: ['namespaces'], verbs: [...READ, 'create', 'patch', 'update', 'delete'] },
    { apiGroups: [''], resources: ['secrets', 'resourcequotas', 'configmaps'], verbs: [...READ, ...WRITE] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: [...READ, ...WRITE] },
    {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['clusterroles'],
      verbs: ['bind'],
      resourceNames: bindable,
    },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: [...READ, ...WRITE] },
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: [...READ, 'create', 'update', 'patch'],
    },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingwebhookconfigurations'],
      verbs: [...READ, 'patch', 'update'],
    },
  ];
}

/** The account ClusterRoles as objects, for the chart, cdk8s and the test setup. */
export function accountClusterRoles(labels: Record<string, string>) {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: ACCOUNT_MANAGER_CLUSTER_ROLE, labels },
      rules: accountManagerRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: ACCOUNT_MEMBER_CLUSTER_ROLE, labels },
      rules: accountMemberRules,
    },
  ];
}

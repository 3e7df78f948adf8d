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
export const STAFF_CLUSTER_ROLE = 'taskjuice-workspace-staff';
export const CLIENT_CLUSTER_ROLE = 'taskjuice-workspace-client';

/**
 * Owners and Admins, bound in their account's home namespace: they create and delete workspaces, invitations and
 * connections, and the Secrets connections take their credentials from (the home namespace holds no other).
 */
export const accountManagerRules: PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: ['workspaces', 'clientinvitations', 'connections'],
    verbs: [...READ, ...WRITE],
  },
  {
    apiGroups: [GROUP],
    resources: ['workspaces/status', 'clientinvitations/status', 'connections/status'],
    verbs: READ,
  },
  { apiGroups: [''], resources: ['secrets'], verbs: [...READ, ...WRITE] },
  { apiGroups: [''], resources: ['events'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
];

/** Members, bound in the home namespace: they see the account's workspaces and work inside them, no more. */
export const accountMemberRules: PolicyRule[] = [
  { apiGroups: [GROUP], resources: ['workspaces', 'clientinvitations', 'connections'], verbs: READ },
  {
    apiGroups: [GROUP],
    resources: ['workspaces/status', 'clientinvitations/status', 'connections/status'],
    verbs: READ,
  },
  { apiGroups: [''], resources: ['events'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
];

const WORKLOADS_CORE = ['pods', 'services', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts'];
const WORKLOADS_APPS = ['deployments', 'statefulsets', 'replicasets'];

/**
 * What everyone with access to a workspace namespace may read. Listed one by one, unlike `view`, which is an
 * aggregated role: any CRD installed with the aggregate-to-view label would silently extend it to clients. No
 * Secrets here: they hold the database credentials.
 */
const workspaceReadRules: PolicyRule[] = [
  {
    apiGroups: [''],
    resources: [...WORKLOADS_CORE, 'pods/log', 'endpoints', 'events', 'resourcequotas', 'limitranges'],
    verbs: READ,
  },
  // A RoleBinding's rule on namespaces reaches the namespace it lives in, and only that one.
  { apiGroups: [''], resources: ['namespaces'], verbs: READ },
  { apiGroups: ['apps'], resources: [...WORKLOADS_APPS, 'daemonsets'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: READ },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: READ },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: READ },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
];

/**
 * Staff (every teammate) in each workspace namespace of their account: they build and run the client's
 * workloads, but nothing that loosens the workspace's isolation. Unlike `edit`, there are no writes of
 * NetworkPolicies (an allow-all policy would undo the isolation one), RBAC, ResourceQuotas, LimitRanges, the
 * namespace, Endpoints (a Service aimed at any address, CVE-2021-25740), DaemonSets (a pod on every node) or
 * PodDisruptionBudgets (which can block node drains). Pod Security admission bounds what their pods may do.
 */
export const workspaceStaffRules: PolicyRule[] = [
  { apiGroups: [''], resources: [...WORKLOADS_CORE, 'secrets'], verbs: [...READ, ...WRITE] },
  { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['create', 'get'] },
  { apiGroups: ['apps'], resources: WORKLOADS_APPS, verbs: [...READ, ...WRITE] },
  {
    apiGroups: ['apps'],
    resources: WORKLOADS_APPS.map((r) => `${r}/scale`),
    verbs: ['get', 'update', 'patch'],
  },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: [...READ, ...WRITE] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: [...READ, ...WRITE] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: [...READ, ...WRITE] },
  ...workspaceReadRules,
];

/** A client who accepted an invitation, in its workspace's namespace: reading, no Secrets, no writes. */
export const workspaceClientRules: PolicyRule[] = workspaceReadRules;

/**
 * A workspace's clients in the home namespace: they read that workspace's connections by name and write the Secrets
 * those connections take their credentials from (a reconnect), and nothing else. Listing is not granted: it would
 * show every workspace's connections. The webhook refuses a write to a lineage shared with another workspace.
 * Empty lists grant nothing (an empty resourceNames would mean every name), so those rules are left out.
 */
export function clientConnectionRules(connections: string[], secrets: string[]): PolicyRule[] {
  return [
    ...(connections.length > 0
      ? [{ apiGroups: [GROUP], resources: ['connections'], verbs: ['get'], resourceNames: connections }]
      : []),
    ...(secrets.length > 0
      ? [{ apiGroups: [''], resources: ['secrets'], verbs: ['update', 'patch'], resourceNames: secrets }]
      : []),
  ];
}

/**
 * The operator's own ClusterRole: exactly the verbs and resources it uses, no wildcards. It binds the account and
 * workspace roles (the `bind` verb, limited by name) rather than holding everything those roles grant.
 */
export function operatorRules(bindable: string[]): PolicyRule[] {
  return [
    {
      apiGroups: [GROUP],
      resources: ['accounts', 'workspaces', 'clientinvitations', 'connections'],
      verbs: [...READ, 'patch', 'update'],
    },
    // The PostgreSQL servers workspaces are placed on: read, and their status written.
    { apiGroups: [GROUP], resources: ['databaseservers'], verbs: READ },
    { apiGroups: [GROUP], resources: ['databaseservers/status'], verbs: ['get', 'patch', 'update'] },
    // A deleted workspace takes its connections with it.
    { apiGroups: [GROUP], resources: ['connections'], verbs: ['delete'] },
    {
      apiGroups: [GROUP],
      resources: ['accounts/status', 'workspaces/status', 'clientinvitations/status', 'connections/status'],
      verbs: ['get', 'patch', 'update'],
    },
    { apiGroups: [GROUP], resources: ['accounts/finalizers', 'workspaces/finalizers'], verbs: ['update'] },
    { apiGroups: [''], resources: ['namespaces'], verbs: [...READ, 'create', 'patch', 'update', 'delete'] },
    {
      apiGroups: [''],
      resources: ['secrets', 'resourcequotas', 'limitranges', 'configmaps'],
      verbs: [...READ, ...WRITE],
    },
    // Roles only of the clients' reconnect rights, whose every verb the operator holds itself (no escalate).
    {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['rolebindings', 'roles'],
      verbs: [...READ, ...WRITE],
    },
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

/** The workspace ClusterRoles as objects, under the names the operator is configured to bind. */
export function workspaceClusterRoles(
  labels: Record<string, string>,
  names: { staff: string; client: string } = { staff: STAFF_CLUSTER_ROLE, client: CLIENT_CLUSTER_ROLE },
) {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: names.staff, labels },
      rules: workspaceStaffRules,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: names.client, labels },
      rules: workspaceClientRules,
    },
  ];
}

/** Every ClusterRole the project ships besides the operator's own, under their default names. */
export function projectClusterRoles(labels: Record<string, string>) {
  return [...accountClusterRoles(labels), ...workspaceClusterRoles(labels)];
}

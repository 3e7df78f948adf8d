import { Labels } from '../api/v1alpha1/group.js';
import { managedLabels } from '../kube/ownership.js';

/**
 * The names the operator gives what it makes for an account (in its home namespace) and for a workspace (in the
 * workspace's namespace), and the labels that say whose a child is. The controllers write them, the caches admit
 * only them, and the watches map a child's event back to its owner through them.
 */
export const QUOTA_RESOURCE = 'count/workspaces.taskjuice.io';
export const QUOTA_NAME = 'taskjuice-workspaces';
export const MANAGERS_BINDING = 'taskjuice-account-managers';
export const MEMBERS_BINDING = 'taskjuice-account-members';

/** Per workspace, in the home namespace: the Role and RoleBinding that let its clients reconnect its connections. */
export const CLIENT_CONNECTIONS_PREFIX = 'taskjuice-client-connections-';
export const clientConnectionsName = (slug: string) => `${CLIENT_CONNECTIONS_PREFIX}${slug}`;

export const SECRET_NAME = 'database-credentials';
export const STAFF_BINDING = 'taskjuice-staff';
export const CLIENTS_BINDING = 'taskjuice-clients';
export const NETWORK_POLICY = 'taskjuice-isolation';
export const RESOURCE_QUOTA = 'taskjuice-workspace';
export const LIMIT_RANGE = 'taskjuice-workspace';
export const SECRET_TYPE = 'servicebinding.io/postgresql';
/** The entries of the credentials Secret; the operator's cache keeps these and nothing else of it. */
export const CREDENTIAL_KEYS = [
  'type',
  'provider',
  'host',
  'port',
  'database',
  'dbname',
  'username',
  'user',
  'password',
  'schema',
  'uri',
  'jdbc-uri',
  'pgpass',
];

export const homeLabels = (account: string) =>
  managedLabels({ [Labels.account]: account, [Labels.component]: 'home' });

export function workspaceLabels(account: string, slug: string): Record<string, string> {
  return managedLabels({
    [Labels.account]: account,
    [Labels.workspace]: slug,
    [Labels.component]: 'workspace',
  });
}

export function ownsHome(account: string, labels: Record<string, string> | undefined): boolean {
  return labels?.[Labels.account] === account && labels?.[Labels.component] === 'home';
}

export function ownsWorkspaceNamespace(account: string, slug: string) {
  return (labels: Record<string, string> | undefined) =>
    labels?.[Labels.account] === account &&
    labels?.[Labels.workspace] === slug &&
    labels?.[Labels.component] === 'workspace';
}

/** Whose child an object's labels say it is: an account's (home) or a workspace's. */
export type ChildOwner =
  { component: 'home'; account: string } | { component: 'workspace'; account: string; slug: string };

export function ownerOf(labels: Record<string, string> | undefined): ChildOwner | undefined {
  const account = labels?.[Labels.account];
  if (!account) return undefined;
  const component = labels[Labels.component];
  if (component === 'home') return { component, account };
  const slug = labels[Labels.workspace];
  if (component === 'workspace' && slug) return { component, account, slug };
  return undefined;
}

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

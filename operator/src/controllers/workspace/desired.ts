import { createHash } from 'node:crypto';
import { API_VERSION, WORKSPACE_FINALIZER } from '../../api/v1alpha1/group.js';
import {
  CLIENTS_BINDING,
  LIMIT_RANGE,
  NETWORK_POLICY,
  RESOURCE_QUOTA,
  SECRET_NAME,
  SECRET_TYPE,
  STAFF_BINDING,
  clientConnectionsName,
  homeLabels,
  podSecurityLabels,
  workspaceLabels,
  type PodSecurityLevel,
} from '../../domain/children.js';
import { roleBinding, userSubject } from '../../domain/teammates.js';
import { clientConnectionRules } from '../../rbac.js';
import { Labels } from '../../api/v1alpha1/group.js';
import type { TenantNames } from '../../db/names.js';
import { ownerReference } from '../../kube/ownership.js';
import { alignQuantities } from '../../kube/quantity.js';

export const FINALIZER = WORKSPACE_FINALIZER;

/**
 * The workspace's namespace. Owned by the Account (both are cluster-scoped; a namespaced Workspace cannot own a
 * namespace), so that nothing of an account outlives it even if a workspace's finalizer never ran. Its Pod
 * Security labels keep privileged, host-namespace and hostPath pods out (at the default level, restricted).
 */
export function workspaceNamespaceObject(
  account: { metadata: { name: string; uid?: string } },
  slug: string,
  namespace: string,
  podSecurity: PodSecurityLevel,
) {
  return {
    metadata: {
      name: namespace,
      labels: { ...podSecurityLabels(podSecurity), ...workspaceLabels(account.metadata.name, slug) },
      ownerReferences: [
        ownerReference({ apiVersion: API_VERSION, kind: 'Account', metadata: account.metadata }),
      ],
    },
  };
}

/** The teammates who reach the workspace: one binding of the staff role to all of them. */
export function staffBinding(
  namespace: string,
  account: string,
  slug: string,
  teammates: string[],
  clusterRole: string,
) {
  return roleBinding(namespace, STAFF_BINDING, clusterRole, teammates, workspaceLabels(account, slug));
}

/** Clients who accepted an invitation read this workspace's namespace, and nothing else. */
export function clientsBinding(
  namespace: string,
  account: string,
  slug: string,
  clients: string[],
  clusterRole: string,
) {
  return roleBinding(namespace, CLIENTS_BINDING, clusterRole, clients, workspaceLabels(account, slug));
}

/**
 * In the home namespace, what lets the workspace's clients reconnect its connections: a Role naming exactly its
 * connections and their credentials Secrets, and its binding. None without clients or connections.
 */
export function clientConnectionsAccess(
  account: string,
  slug: string,
  clients: string[],
  connections: string[],
  secrets: string[],
) {
  const rules = clientConnectionRules(connections, secrets);
  if (clients.length === 0 || rules.length === 0) return undefined;
  const name = clientConnectionsName(slug);
  const labels = { ...homeLabels(account), [Labels.workspace]: slug };
  return {
    role: { metadata: { name, namespace: account, labels }, rules },
    binding: {
      metadata: { name, namespace: account, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [...new Set(clients)].sort().map(userSubject),
    },
  };
}

/**
 * Default isolation: pods of the workspace accept traffic only from pods of the same namespace, so no other
 * workspace reaches them. Egress stays open (the workspace needs its database).
 */
export function isolationPolicy(namespace: string, account: string, slug: string) {
  return {
    metadata: { name: NETWORK_POLICY, namespace, labels: workspaceLabels(account, slug) },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: {} }] }],
    },
  };
}

/**
 * The workspace's share of the cluster: the API server refuses what would go beyond it. None when `hard` is empty.
 * `stored` is the `hard` the cluster holds: amounts it holds already keep its spelling (see alignQuantities).
 */
export function workspaceQuota(
  namespace: string,
  account: string,
  slug: string,
  hard: Record<string, string>,
  stored?: Record<string, unknown>,
) {
  if (Object.keys(hard).length === 0) return undefined;
  return {
    metadata: { name: RESOURCE_QUOTA, namespace, labels: workspaceLabels(account, slug) },
    spec: { hard: alignQuantities(hard, stored) },
  };
}

export interface ContainerLimits {
  default?: Record<string, string> | undefined;
  defaultRequest?: Record<string, string> | undefined;
  min?: Record<string, string> | undefined;
  max?: Record<string, string> | undefined;
}

const LIMIT_FIELDS = ['default', 'defaultRequest', 'min', 'max'] as const;

/**
 * Defaults and bounds for every container of the workspace. With a quota on requests and limits the API server
 * refuses a pod that states none; the defaults let such a pod in, counted. None when nothing is configured.
 * `stored` is the cluster's `spec.limits[0]`, as for workspaceQuota.
 */
export function workspaceLimitRange(
  namespace: string,
  account: string,
  slug: string,
  limits: ContainerLimits,
  stored?: Record<string, unknown>,
) {
  const container: Record<string, Record<string, string>> = {};
  for (const field of LIMIT_FIELDS) {
    const wanted = limits[field];
    if (wanted && Object.keys(wanted).length > 0) container[field] = alignQuantities(wanted, stored?.[field]);
  }
  if (Object.keys(container).length === 0) return undefined;
  return {
    metadata: { name: LIMIT_RANGE, namespace, labels: workspaceLabels(account, slug) },
    spec: { limits: [{ type: 'Container', ...container }] },
  };
}

export interface DatabaseEndpoint {
  host: string;
  port: number;
  database: string;
  sslMode: string | undefined;
  caCertificate?: string;
}

/**
 * The credentials Secret, in the Service Binding format for PostgreSQL (`type`, `provider`, `host`, `port`,
 * `database`, `username`, `password`) plus `schema`, `uri` (search_path set to the schema), `jdbc-uri` and
 * `pgpass`, and `ca.crt` (the server's CA) when the operator knows it. Written by server-side apply, so labels and annotations other tools add survive.
 */
export function credentialsSecret(
  namespace: string,
  account: string,
  slug: string,
  names: TenantNames,
  password: string,
  db: DatabaseEndpoint,
) {
  const host = db.host.includes(':') ? `[${db.host}]` : db.host;
  const ssl = db.sslMode ? `&sslmode=${db.sslMode}` : '';
  const entries: Record<string, string> = {
    type: 'postgresql',
    provider: 'workspace-operator',
    host: db.host,
    port: String(db.port),
    database: db.database,
    // The names libpq-style tools and some frameworks look for (PGDATABASE's dbname, user).
    dbname: db.database,
    username: names.role,
    user: names.role,
    password,
    schema: names.schema,
    uri: `postgresql://${names.role}:${password}@${host}:${db.port}/${encodeURIComponent(db.database)}?options=-c%20search_path%3D${names.schema}${ssl}`,
    'jdbc-uri': `jdbc:postgresql://${host}:${db.port}/${encodeURIComponent(db.database)}?currentSchema=${names.schema}&user=${names.role}&password=${password}${ssl}`,
    pgpass: `${db.host}:${db.port}:${db.database}:${names.role}:${password}\n`,
    // The server's CA, for sslmode=verify-full: libpq's sslrootcert (or PGSSLROOTCERT) names the mounted file.
    ...(db.caCertificate ? { 'ca.crt': db.caCertificate } : {}),
  };
  return {
    metadata: { name: SECRET_NAME, namespace, labels: workspaceLabels(account, slug) },
    type: SECRET_TYPE,
    data: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** The password a Secret's data holds, when it holds a usable one. */
export function passwordOf(data: Record<string, string> | undefined): string | undefined {
  const encoded = data?.password;
  if (typeof encoded !== 'string') return undefined;
  const password = Buffer.from(encoded, 'base64').toString('utf8');
  return /^[A-Za-z0-9_-]{32,}$/.test(password) ? password : undefined;
}

/** A digest of the password, recorded in status so that a Secret changed behind the operator's back is noticed. */
export function credentialsHash(password: string): string {
  return createHash('sha256').update(`workspace-operator:${password}`).digest('hex').slice(0, 32);
}

import { Annotations, Labels } from './api/v1alpha1/group.js';
import type { Config } from './config.js';
import { workspaceNamespace } from './db/names.js';
import type { Api } from './kube/api.js';
import { z } from 'zod';
import { AccountSpec, AccountStatus } from './api/v1alpha1/account.js';
import { ClientInvitationSpec, ClientInvitationStatus } from './api/v1alpha1/clientinvitation.js';
import { WorkspaceSpec, WorkspaceStatus } from './api/v1alpha1/workspace.js';
import { ConnectionSpec, ConnectionStatus } from './api/v1alpha1/connection.js';
import { DatabaseServerSpec, DatabaseServerStatus } from './api/v1alpha1/databaseserver.js';
import { MOUNTED_SECRET_PREFIX, contentDigest } from './domain/connections.js';
import { ClaimData } from './domain/claims.js';
import { Informer, type CachedObject, type InformerOptions } from './kube/informer.js';
import { cachedStrings, cachedValues } from './kube/intern.js';
import { typedChild, typedKind, type Typed } from './kube/typed.js';
import { MANAGED_SELECTOR } from './kube/ownership.js';
import { Resources, type ResourceType } from './kube/resources.js';
import type { Logger } from './log.js';
import { CLAIM_COMPONENT } from './domain/claims.js';
import {
  MANAGERS_BINDING,
  MEMBERS_BINDING,
  QUOTA_NAME,
  CLIENTS_BINDING,
  CREDENTIAL_KEYS,
  LIMIT_RANGE,
  NETWORK_POLICY,
  RESOURCE_QUOTA,
  SECRET_NAME,
  STAFF_BINDING,
  CLIENT_CONNECTIONS_PREFIX,
} from './domain/children.js';

/**
 * What the operator keeps in memory, and why it is bounded whatever tenants do. Staff can create and label objects
 * in their workspace namespaces, so a label selector alone would let them fill the operator's caches (and every
 * replica's, again on restart). Children therefore enter a cache only when they stand where the operator puts its
 * own: a name it gives that kind, in the namespace their labels name. What is kept of them is what the controllers
 * read: known labels and annotations, and of a Secret only the entries the operator writes, each of bounded size.
 */

const KEPT_LABELS = new Set<string>([
  ...Object.values(Labels),
  'kubernetes.io/metadata.name',
  'pod-security.kubernetes.io/enforce',
  'pod-security.kubernetes.io/enforce-version',
  'pod-security.kubernetes.io/audit',
  'pod-security.kubernetes.io/audit-version',
  'pod-security.kubernetes.io/warn',
  'pod-security.kubernetes.io/warn-version',
]);
const KEPT_ANNOTATIONS = new Set<string>(Object.values(Annotations));
/** A credentials entry larger than this is not the operator's: it is dropped, so the next pass writes it back. */
export const MAX_SECRET_VALUE_BYTES = 4096;

function pick(
  record: Record<string, string> | undefined,
  keep: (key: string, value: string) => boolean,
): Record<string, string> | undefined {
  if (!record) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) if (typeof v === 'string' && keep(k, v)) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The metadata the controllers read: identity, versions, deletion state, and the labels and annotations they use. */
function trimMetadata(meta: CachedObject['metadata'], keepOwners: boolean): CachedObject['metadata'] {
  return {
    name: meta.name,
    namespace: meta.namespace,
    uid: meta.uid,
    resourceVersion: meta.resourceVersion,
    generation: meta.generation,
    creationTimestamp: meta.creationTimestamp,
    deletionTimestamp: meta.deletionTimestamp,
    finalizers: meta.finalizers,
    labels: pick(meta.labels, (k) => KEPT_LABELS.has(k)),
    annotations: pick(meta.annotations, (k) => KEPT_ANNOTATIONS.has(k)),
    ...(keepOwners ? { ownerReferences: meta.ownerReferences } : {}),
  };
}

/**
 * The metadata a child keeps: its name, where it stands, its version and deletion, its kept labels and annotations;
 * a Namespace also its owner references and uid, a RoleBinding its uid (a binding is deleted on that precondition).
 * Versions and uids are unique and stay out of the string pool; everything else shares its strings.
 */
function childMetadata(kind: string | undefined, meta: CachedObject['metadata']): CachedObject['metadata'] {
  const out: CachedObject['metadata'] = { name: cachedStrings.intern(meta.name) };
  if (meta.namespace !== undefined) out.namespace = cachedStrings.intern(meta.namespace);
  if (meta.resourceVersion !== undefined) out.resourceVersion = meta.resourceVersion;
  if ((kind === 'Namespace' || kind === 'RoleBinding') && meta.uid !== undefined) out.uid = meta.uid;
  if (meta.deletionTimestamp !== undefined) out.deletionTimestamp = meta.deletionTimestamp;
  const labels = pick(meta.labels, (k) => KEPT_LABELS.has(k));
  if (labels) out.labels = cachedValues.share(labels);
  const annotations = pick(meta.annotations, (k) => KEPT_ANNOTATIONS.has(k));
  if (annotations) out.annotations = cachedValues.share(annotations);
  if (kind === 'Namespace' && meta.ownerReferences !== undefined) out.ownerReferences = meta.ownerReferences;
  return out;
}

/**
 * Only what is defined, with the metadata's pooled strings and its labels, annotations and finalizers shared with
 * every object that has the same; uids and versions are each object's own.
 */
function compactMetadata(meta: CachedObject['metadata']): CachedObject['metadata'] {
  const { uid, resourceVersion, labels, annotations, finalizers, ...rest } = meta;
  const out = cachedStrings.compact(rest);
  if (labels !== undefined) out.labels = cachedValues.share(labels);
  if (annotations !== undefined) out.annotations = cachedValues.share(annotations);
  if (finalizers !== undefined) out.finalizers = cachedValues.share(finalizers);
  if (uid !== undefined) out.uid = uid;
  if (resourceVersion !== undefined) out.resourceVersion = resourceVersion;
  return out;
}

/** Everything but the metadata stays (spec and status are bounded by the kind's schema); the metadata is trimmed. */
export function trimObject(obj: CachedObject): CachedObject {
  const { metadata, apiVersion: _apiVersion, ...rest } = obj;
  return {
    ...cachedStrings.compact(rest),
    metadata: compactMetadata(trimMetadata(metadata, obj.kind === 'Namespace')),
  };
}

/**
 * What is kept of a child: for a Secret only the credentials entries, each of bounded size; any other Secret (the
 * webhook's certificate, read from the API when it changes) keeps no data at all. The fields of any other kind
 * (a quota's limits, a policy's rules, a binding's subjects) are mostly alike from one workspace to the next, and
 * each distinct value is held once (see ValuePool).
 */
export function trimChild(obj: CachedObject): CachedObject {
  if (obj.kind === 'Secret') return trimSecret(obj, isOperatorChild(obj));
  const { metadata, apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
  const out: CachedObject = { kind: obj.kind, metadata: childMetadata(obj.kind, metadata) };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = cachedValues.share(v);
  return out;
}

/**
 * What is kept of a Secret that holds a connection's credentials (a source a Connection names, or the copy the
 * operator gives a workspace): no data, only its digest. Credentials of any size and number stay out of memory;
 * the controller reads a source from the API when it has to write the credentials on.
 */
export function trimCredentials(obj: CachedObject): CachedObject {
  return {
    kind: 'Secret',
    metadata: trimMetadata(obj.metadata, false),
    type: obj.type,
    contentDigest: contentDigest(obj.data as Record<string, string> | undefined),
  };
}

/**
 * A workspace's credentials Secret keeps its password (each pass needs it to write the Secret and the role) and a
 * digest of the entries the operator writes, which is what a pass compares with the Secret it wants (see
 * `holds` in kube/apply.ts); the URIs, the pgpass line and the CA stay out of memory. Any other Secret (the
 * webhook's certificate, read from the API when it changes) keeps no data at all.
 */
function trimSecret(obj: CachedObject, credentials: boolean): CachedObject {
  const data = obj.data as Record<string, string> | undefined;
  const out: CachedObject = { kind: 'Secret', metadata: childMetadata('Secret', obj.metadata) };
  if (typeof obj.type === 'string') out.type = cachedStrings.intern(obj.type);
  if (!credentials) return out;
  const password = data?.password;
  if (typeof password === 'string' && Buffer.byteLength(password) <= MAX_SECRET_VALUE_BYTES)
    out.data = { password };
  out.contentDigest = writtenDigest(data);
  return out;
}

/** The digest of a credentials Secret's entries that the operator writes (others' entries do not count). */
export function writtenDigest(data: Record<string, string> | undefined): string {
  return contentDigest(pick(data, (k) => WRITTEN_KEYS.has(k)));
}
const WRITTEN_KEYS = new Set([...CREDENTIAL_KEYS, 'ca.crt']);

/** Where an object's labels say it belongs: an account's home namespace or a workspace's namespace. */
function placeOf(obj: CachedObject): 'home' | 'workspace' | undefined {
  const labels = obj.metadata.labels ?? {};
  const account = labels[Labels.account];
  if (!account) return undefined;
  const where = obj.kind === 'Namespace' ? obj.metadata.name : obj.metadata.namespace;
  if (labels[Labels.component] === 'home' && where === account) return 'home';
  const slug = labels[Labels.workspace];
  if (labels[Labels.component] === 'workspace' && slug && where === workspaceNamespace(account, slug))
    return 'workspace';
  return undefined;
}

/** The names the operator gives each child kind, by the namespace it puts them in. */
const CHILD_NAMES: Record<string, { home: string[]; workspace: string[] }> = {
  Namespace: { home: [], workspace: [] },
  RoleBinding: { home: [MANAGERS_BINDING, MEMBERS_BINDING], workspace: [STAFF_BINDING, CLIENTS_BINDING] },
  NetworkPolicy: { home: [], workspace: [NETWORK_POLICY] },
  Secret: { home: [], workspace: [SECRET_NAME] },
  ResourceQuota: { home: [QUOTA_NAME], workspace: [RESOURCE_QUOTA] },
  LimitRange: { home: [], workspace: [LIMIT_RANGE] },
};

/** Children the operator makes one of per workspace in the home namespace, by name prefix. */
const HOME_PREFIXES: Record<string, string> = {
  Role: CLIENT_CONNECTIONS_PREFIX,
  RoleBinding: CLIENT_CONNECTIONS_PREFIX,
};

/** Whether a child object stands where the operator puts its own of that kind. */
export function isOperatorChild(obj: CachedObject): boolean {
  const place = placeOf(obj);
  if (!place || !obj.kind) return false;
  if (obj.kind === 'Namespace') return true;
  const prefix = HOME_PREFIXES[obj.kind];
  if (place === 'home' && prefix && obj.metadata.name.startsWith(prefix)) return true;
  return CHILD_NAMES[obj.kind]?.[place].includes(obj.metadata.name) ?? false;
}

/** A connection's Secret in a workspace namespace: `connection-<name>`, labelled with that connection. */
export function isMountedSecret(obj: CachedObject): boolean {
  const name = obj.metadata.labels?.[Labels.connection];
  return (
    placeOf(obj) === 'workspace' &&
    name !== undefined &&
    obj.metadata.name === `${MOUNTED_SECRET_PREFIX}${name}`
  );
}

/** What the cache keeps of the operator's own kinds, typed. */
export type AccountObject = Typed<AccountSpec, AccountStatus>;
export type WorkspaceObject = Typed<WorkspaceSpec, WorkspaceStatus>;
export type InvitationObject = Typed<ClientInvitationSpec, ClientInvitationStatus>;
export type ConnectionObject = Typed<ConnectionSpec, ConnectionStatus>;
export type DatabaseServerObject = Typed<DatabaseServerSpec, DatabaseServerStatus>;

/** Every field a child's fields parse to when they are not what the operator writes. */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
const Strings = z.record(z.string(), z.string());

const parseAccount = typedKind(AccountSpec, AccountStatus);
const parseWorkspace = typedKind(WorkspaceSpec, WorkspaceStatus);
const parseInvitation = typedKind(ClientInvitationSpec, ClientInvitationStatus);
const parseConnection = typedKind(ConnectionSpec, ConnectionStatus);
const parseDatabaseServer = typedKind(DatabaseServerSpec, DatabaseServerStatus);
const parseCredentials = typedChild(z.object({ contentDigest: z.string() }), { shared: false });
const parseSecret = typedChild(z.object({ data: lenient(Strings), contentDigest: lenient(z.string()) }), {
  shared: false,
});
const parseQuota = typedChild(
  z.object({
    spec: lenient(z.looseObject({ hard: lenient(z.record(z.string(), z.unknown())) })),
    status: lenient(z.looseObject({ hard: lenient(Strings), used: lenient(Strings) })),
  }),
);
const parseLimitRange = typedChild(
  z.object({ spec: lenient(z.looseObject({ limits: lenient(z.array(z.record(z.string(), z.unknown()))) })) }),
);
const parseRoleBinding = typedChild(
  z.object({ roleRef: lenient(z.looseObject({ kind: z.string(), name: z.string() })) }),
);
const parseClaim = typedChild(z.object({ data: lenient(ClaimData) }), { shared: false });

export type SecretObject = ReturnType<typeof parseSecret>;
export type ClaimObject = ReturnType<typeof parseClaim>;
export type CredentialsObject = ReturnType<typeof parseCredentials>;

/** The informers the controllers read from; children are those labelled as managed by the operator. */
export interface Caches {
  accounts: Informer<AccountObject>;
  workspaces: Informer<WorkspaceObject>;
  invitations: Informer<InvitationObject>;
  connections: Informer<ConnectionObject>;
  databaseServers: Informer<DatabaseServerObject>;
  /** Secrets labelled as a connection's credentials source, anywhere: kept as digests (see trimCredentials). */
  credentialSources: Informer<CredentialsObject>;
  /** The Secrets the operator gives workspace namespaces, one per connection, kept as digests. */
  mountedSecrets: Informer<CredentialsObject>;
  /** The per-workspace Roles in home namespaces that let clients reconnect their own connections. */
  roles: Informer;
  namespaces: Informer;
  roleBindings: Informer<ReturnType<typeof parseRoleBinding>>;
  networkPolicies: Informer;
  secrets: Informer<SecretObject>;
  quotas: Informer<ReturnType<typeof parseQuota>>;
  limitRanges: Informer<ReturnType<typeof parseLimitRange>>;
  /** The staff/client claims, ConfigMaps in the operator's namespace. */
  claims: Informer<ClaimObject>;
}

/** The operator's informers: its own kinds (by the configured selector) and the children it makes. */
export function buildCaches(api: Api, config: Config, log: Logger): Caches {
  const informer = <T extends CachedObject>(
    resource: ResourceType,
    labelSelector: string | undefined,
    parse: (obj: CachedObject) => T,
    policy: Pick<InformerOptions, 'admit' | 'trim' | 'namespace'> = {},
  ) =>
    new Informer<T>(api, resource, {
      labelSelector,
      watchTimeoutSeconds: config.watchTimeoutSeconds,
      watchIdleSeconds: config.watchIdleSeconds,
      log: log.child({ component: 'informer', kind: resource.kind }),
      trim: trimObject,
      parse,
      ...policy,
    });
  const isWebhookSecret = (o: CachedObject) =>
    o.kind === 'Secret' &&
    o.metadata.namespace === config.namespace &&
    o.metadata.name === config.webhook.secretName;
  // List items of built-in kinds carry no kind, and the policy reads it: children are given theirs on arrival.
  const child = <T extends CachedObject>(
    resource: ResourceType,
    parse: (obj: CachedObject) => T,
  ): Informer<T> =>
    informer(resource, MANAGED_SELECTOR, parse, {
      admit: (o): boolean => {
        const typed = { ...o, kind: resource.kind };
        return (isOperatorChild(typed) && !terminating(o)) || isWebhookSecret(typed);
      },
      trim: (o) => trimChild({ ...o, kind: resource.kind }),
    });
  const untyped = (o: CachedObject) => o;
  const own = config.watchLabelSelector;
  // What stands in a namespace being deleted leaves the caches (see keepOutOfTerminating).
  const namespaces: Informer = child(Resources.Namespace, untyped);
  const terminating = (o: CachedObject): boolean =>
    o.kind !== 'Namespace' &&
    o.metadata.namespace !== undefined &&
    namespaces.get(o.metadata.namespace)?.metadata.deletionTimestamp !== undefined;
  const caches: Caches = {
    accounts: informer(Resources.Account, own, parseAccount),
    workspaces: informer(Resources.Workspace, own, parseWorkspace),
    invitations: informer(Resources.ClientInvitation, own, parseInvitation),
    connections: informer(Resources.Connection, own, parseConnection),
    // Placement reads every label of a server (accounts select servers by them); only the platform team makes them.
    databaseServers: informer(Resources.DatabaseServer, own, parseDatabaseServer, {
      trim: (o) => ({ ...trimObject(o), metadata: { ...trimObject(o).metadata, labels: o.metadata.labels } }),
    }),
    credentialSources: informer(Resources.Secret, `${Labels.connectionCredentials}=true`, parseCredentials, {
      trim: trimCredentials,
    }),
    mountedSecrets: informer(Resources.Secret, `${MANAGED_SELECTOR},${Labels.connection}`, parseCredentials, {
      admit: (o) => isMountedSecret({ ...o, kind: 'Secret' }) && !terminating(o),
      trim: trimCredentials,
    }),
    roles: child(Resources.Role, untyped),
    namespaces,
    roleBindings: child(Resources.RoleBinding, parseRoleBinding),
    networkPolicies: child(Resources.NetworkPolicy, untyped),
    secrets: child(Resources.Secret, parseSecret),
    quotas: child(Resources.ResourceQuota, parseQuota),
    limitRanges: child(Resources.LimitRange, parseLimitRange),
    claims: informer(
      Resources.ConfigMap,
      `${MANAGED_SELECTOR},${Labels.component}=${CLAIM_COMPONENT}`,
      parseClaim,
      { namespace: config.namespace },
    ),
  };
  keepOutOfTerminating(caches);
  return caches;
}

/**
 * Once a namespace of the operator's is being deleted, the objects in it leave the caches, and new versions of
 * them stay out. The controllers no longer act on them, and the namespace controller may take minutes to delete
 * what a burst of deletions leaves behind: the caches then hold about what live workspaces have, not that backlog.
 */
function keepOutOfTerminating(caches: Caches): void {
  const inNamespaces = [
    ...childInformers(caches).filter((i) => i !== caches.namespaces),
    caches.mountedSecrets,
  ];
  const purge = (ns: CachedObject) => {
    if (ns.metadata.deletionTimestamp === undefined) return;
    for (const informer of inNamespaces) informer.forgetNamespace(ns.metadata.name);
  };
  caches.namespaces.on({ add: purge, update: (_, ns) => purge(ns) });
}

/** The informers of the children the operator makes, whose changes by others bring their owner back. */
export function childInformers(caches: Caches): Informer[] {
  return [
    caches.namespaces,
    caches.roleBindings,
    caches.networkPolicies,
    caches.secrets,
    caches.quotas,
    caches.limitRanges,
    caches.roles,
  ];
}

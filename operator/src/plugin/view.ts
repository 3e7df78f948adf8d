import type { z } from 'zod';
import type { Condition } from '../api/meta.js';
import {
  Account,
  ClientInvitation,
  Connection,
  Workspace,
  type Account as AccountObject,
  type ClientInvitation as InvitationObject,
  type Connection as ConnectionObject,
  type Workspace as WorkspaceObject,
} from '../api/v1alpha1/index.js';
import { workspaceNamespace } from '../db/names.js';
import { OperatorError, errorMessage, isCode } from '../errors.js';
import type { Api } from '../kube/api.js';
import { Resources, type ResourceType } from '../kube/resources.js';

/**
 * One account as the plugin reads it: the Account and, from its home namespace, its Workspaces, ClientInvitations
 * and Connections, each parsed with the API's own schema when it is read (the edge), sorted by name.
 */
export interface AccountView extends Home {
  workspaces: WorkspaceObject[];
  invitations: InvitationObject[];
  connections: ConnectionObject[];
}

/** An object read from the API, parsed with its kind's schema; one that does not parse says which and why. */
export function parseObject<T extends z.ZodType>(schema: T, raw: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new OperatorError(
    'Invalid',
    `${what} does not read as this plugin's API version expects (${issue?.path.join('.') || 'object'}: ${issue?.message ?? 'invalid'}); is the plugin as new as the operator?`,
  );
}

export async function readAccount(api: Api, name: string): Promise<AccountObject> {
  const raw = await api.get(Resources.Account, { name });
  if (raw === undefined)
    throw new OperatorError('NotFound', `account ${name} not found (kubectl get accounts lists them)`);
  return parseObject(Account, raw, `account ${name}`);
}

async function listParsed<T extends z.ZodType>(
  api: Api,
  r: ResourceType,
  schema: T,
  namespace: string,
): Promise<z.output<T>[]> {
  const { items } = await api.list(r, { namespace });
  const parsed = items.map((item, i) =>
    parseObject(schema, item, `${r.kind} ${i} of namespace ${namespace}`),
  );
  return parsed.sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
}

function nameOf(obj: unknown): string {
  if (obj && typeof obj === 'object' && 'metadata' in obj) {
    const meta = obj.metadata;
    if (meta && typeof meta === 'object' && 'name' in meta && typeof meta.name === 'string') return meta.name;
  }
  return '';
}

/**
 * An account and its home namespace. Teammates may not read their (cluster-scoped) Account, only what is in its
 * home namespace, which is named after it: for them the Account is left out and the plugin works on the rest.
 */
export interface Home {
  name: string;
  /** The home namespace, where the account's workspaces, invitations and connections live. */
  namespace: string;
  account: AccountObject | undefined;
  /** Why the Account could not be read, when the caller may not read it. */
  accountDenied?: string;
}

export async function readHome(api: Api, name: string): Promise<Home> {
  try {
    const account = await readAccount(api, name);
    return { name, namespace: account.status?.namespace ?? name, account };
  } catch (err) {
    if (!isCode(err, 'Forbidden')) throw err;
    return { name, namespace: name, account: undefined, accountDenied: errorMessage(err) };
  }
}

export async function readAccountView(api: Api, name: string): Promise<AccountView> {
  const home = await readHome(api, name);
  const { namespace } = home;
  const [workspaces, invitations, connections] = await Promise.all([
    listParsed(api, Resources.Workspace, Workspace, namespace),
    listParsed(api, Resources.ClientInvitation, ClientInvitation, namespace),
    listParsed(api, Resources.Connection, Connection, namespace),
  ]);
  return { ...home, workspaces, invitations, connections };
}

/** The workspace of the account named `slug`; not found names the ones there are. */
export async function readWorkspace(api: Api, home: Home, slug: string): Promise<WorkspaceObject> {
  const { namespace } = home;
  const raw = await api.get(Resources.Workspace, { namespace, name: slug });
  if (raw === undefined) {
    const others = await listParsed(api, Resources.Workspace, Workspace, namespace);
    throw new OperatorError(
      'NotFound',
      `workspace ${slug} not found in account ${home.name} (${listing('its workspaces', others)})`,
    );
  }
  return parseObject(Workspace, raw, `workspace ${namespace}/${slug}`);
}

export async function readInvitation(api: Api, home: Home, name: string): Promise<InvitationObject> {
  const { namespace } = home;
  const raw = await api.get(Resources.ClientInvitation, { namespace, name });
  if (raw === undefined) {
    const others = await listParsed(api, Resources.ClientInvitation, ClientInvitation, namespace);
    throw new OperatorError(
      'NotFound',
      `invitation ${name} not found in account ${home.name} (${listing('its invitations', others)})`,
    );
  }
  return parseObject(ClientInvitation, raw, `invitation ${namespace}/${name}`);
}

function listing(what: string, objects: { metadata: { name: string } }[]): string {
  return objects.length === 0 ? `it has none` : `${what}: ${objects.map((o) => o.metadata.name).join(', ')}`;
}

/** The namespace of a workspace: as its status says, or as the operator names it before it has written one. */
export function namespaceOf(account: string, ws: WorkspaceObject): string {
  return ws.status?.namespace ?? workspaceNamespace(account, ws.metadata.name);
}

export const conditionOf = (
  obj: { status?: { conditions?: Condition[] | undefined } | undefined },
  type: string,
): Condition | undefined => obj.status?.conditions?.find((c) => c.type === type);

/** Whether the object is Ready for its current generation, as `kubectl wait --for=condition=Ready` reads it. */
export function isReady(obj: {
  metadata: { generation?: number | undefined };
  status?: { conditions?: Condition[] | undefined } | undefined;
}): boolean {
  const ready = conditionOf(obj, 'Ready');
  if (ready?.status !== 'True') return false;
  const generation = obj.metadata.generation;
  return (
    generation === undefined ||
    ready.observedGeneration === undefined ||
    ready.observedGeneration >= generation
  );
}

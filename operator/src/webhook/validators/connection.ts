import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ConnectionSpec } from '../../api/v1alpha1/connection.js';
import { canonicalEmail } from '../../api/email.js';
import {
  copiesOf,
  describeCopies,
  lineageOf,
  lineageProblem,
  lineageWorkspaces,
  type ConnectionEntry,
} from '../../domain/connections.js';
import { outsideReach, roleOf } from '../../domain/teammates.js';
import type { AdmissionRequest } from '../review.js';
import type { WebhookView } from '../view.js';
import { ReviewedObject, allowed, denied, reviewed, type Decision } from './decision.js';

const manages = (role: string | undefined) => role === 'Owner' || role === 'Admin';

/**
 * Connections: made and changed by an account's Owners and Admins in its home namespace. A copy stays in its
 * account, never lands twice in one workspace's lineage, never closes a cycle, and is not edited on its own; a
 * connection with copies is not deleted before them.
 */
export async function validateConnection(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  const account = req.namespace ?? '';
  const system = view.isSystem(req.userInfo.username);
  const accountSpec = await view.account(account);
  const role = roleOf(accountSpec, req.userInfo.username);
  const others = (name: string) => view.connections(account).filter((c) => c.name !== name);

  if (req.operation === 'DELETE') {
    const name = req.name ?? ReviewedObject.safeParse(req.oldObject).data?.metadata.name ?? '';
    if (system) return allowed();
    if (role === 'Member') return denied('deleting connections requires the Owner or Admin role');
    const workspace = ConnectionSpec.safeParse(ReviewedObject.safeParse(req.oldObject).data?.spec).data
      ?.workspace;
    const limited =
      workspace &&
      outsideReach(accountSpec, req.userInfo.username, account, workspace, `deleting connection ${name}`);
    if (limited) return denied(limited);
    const copies = copiesOf(name, view.connections(account));
    if (copies.length > 0) return denied(`${describeCopies(name, copies)}; delete them first`);
    return allowed();
  }
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();

  const review = reviewed(req.object, 'Connection', ConnectionSpec);
  if (!review.ok) return review.denial;
  const { obj, spec } = review;
  const name = obj.metadata.name;
  if (!accountSpec) {
    return denied(
      `namespace ${account} is not the home namespace of an Account; create connections in their account's namespace`,
    );
  }
  if (!system && role === 'Member')
    return denied('creating or changing connections requires the Owner or Admin role');
  const action = `${req.operation === 'CREATE' ? 'creating' : 'changing'} connection ${name}`;
  const limited = outsideReach(accountSpec, req.userInfo.username, account, spec.workspace, action);
  if (limited) return denied(limited);

  if (req.operation === 'UPDATE') {
    const before = ConnectionSpec.safeParse(ReviewedObject.safeParse(req.oldObject).data?.spec);
    const old = before.success ? before.data : undefined;
    if (old?.copyOf && !isDeepStrictEqual({ ...old, displayName: '' }, { ...spec, displayName: '' })) {
      const source = lineageOf(name, view.connections(account));
      const from = source.ok ? source.source : old.copyOf.name;
      return denied(
        `connection ${name} is a copy of ${old.copyOf.name}: its credentials and provider come from its lineage's source ${from}, and only spec.displayName can change; reconnect ${from} instead`,
      );
    }
    if (!old?.copyOf) return allowed();
  }

  if (!spec.copyOf) return allowed();
  if (spec.copyOf.account !== undefined && spec.copyOf.account !== account) {
    return denied(
      `spec.copyOf.account: copies stay inside one account; connection ${name} is in account ${account}, and ${spec.copyOf.account} is another account`,
    );
  }
  const entries: ConnectionEntry[] = [...others(name), { name, spec }];
  const lineage = lineageOf(name, entries);
  if (!lineage.ok) {
    // Declared in one apply, a copy may arrive before the connection it copies: it waits for it.
    if (lineage.problem === 'missing' && lineage.at !== name) {
      return allowed([
        `connection ${lineage.at} does not exist yet; ${name} waits for it and carries no credentials until then`,
      ]);
    }
    return denied(`spec.copyOf: ${lineageProblem(lineage)}`);
  }
  const provider = lineage.sourceSpec.provider;
  if (spec.provider !== undefined && spec.provider !== provider) {
    return denied(
      `spec.provider: ${name} copies a ${provider} connection (source ${lineage.source}), so its provider is ${provider}; leave provider out of a copy`,
    );
  }
  const family = [lineage.source, ...copiesOf(lineage.source, others(name)).map((c) => c.name)];
  const already = family.find(
    (n) => n !== name && entries.find((e) => e.name === n)?.spec?.workspace === spec.workspace,
  );
  if (already !== undefined) {
    return denied(
      `workspace ${spec.workspace} already has connection ${already} of this lineage (source ${lineage.source}); a workspace holds a connection once`,
    );
  }
  return allowed();
}

const SecretObject = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
    ownerReferences: z.array(z.unknown()).optional(),
  }),
  type: z.string().optional(),
  immutable: z.boolean().optional(),
});

/** What a reconnect may change of a Secret: its data and nothing else. */
function beyondData(
  before: z.infer<typeof SecretObject>,
  after: z.infer<typeof SecretObject>,
): string | undefined {
  for (const field of ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const) {
    if (!isDeepStrictEqual(before.metadata[field] ?? undefined, after.metadata[field] ?? undefined))
      return `metadata.${field}`;
  }
  if (before.type !== after.type) return 'type';
  if (before.immutable !== after.immutable) return 'immutable';
  return undefined;
}

/**
 * A Secret a connection takes its credentials from, written by a client of the account: a client reconnecting its
 * own workspace's connection. It may change the data, of a lineage no other workspace shares, and nothing else.
 */
export async function validateCredentialsSecret(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  // Registered for updates and deletes only: anything else is a misconfiguration, and is refused.
  if (req.operation !== 'UPDATE' && req.operation !== 'DELETE') {
    return denied(`workspace-operator validates only updates and deletes of Secrets, not ${req.operation}`);
  }
  if (view.isSystem(req.userInfo.username)) return allowed();
  const account = req.namespace ?? '';
  const accountSpec = await view.account(account);
  if (!accountSpec) return allowed(); // not an account's namespace: no connection takes credentials from here
  if (manages(roleOf(accountSpec, req.userInfo.username))) return allowed();
  const name = req.name ?? '';
  const entries = view.connections(account);
  const sources = entries.filter((c) => c.spec?.credentials?.secretRef.name === name);
  if (sources.length === 0) return allowed();
  // Only the account's clients are held here: what else may write these Secrets (External Secrets, a GitOps
  // controller, the platform team) RBAC decides, as for any Secret.
  const email = canonicalEmail(req.userInfo.username);
  const own = email.ok ? view.clients(account).get(email.email) : undefined;
  if (own === undefined) return allowed();
  for (const source of sources) {
    const reached = lineageWorkspaces(source.name, entries);
    if (reached.length > 1) {
      return denied(
        `Secret ${name} holds the credentials of connection ${source.name}, shared by workspaces ${reached.join(', ')}; reconnecting a shared connection is for the account's Owners and Admins`,
      );
    }
    if (!reached.every((w) => own.includes(w))) {
      return denied(`Secret ${name} holds the credentials of a connection of another workspace`);
    }
  }
  if (req.operation === 'DELETE') {
    return denied(
      `Secret ${name} holds the credentials of connection ${sources[0]?.name}; only Owners and Admins delete it`,
    );
  }
  const before = SecretObject.safeParse(req.oldObject);
  const after = SecretObject.safeParse(req.object);
  if (!before.success || !after.success) return denied(`the Secret ${name} is malformed`);
  const changed = beyondData(before.data, after.data);
  if (changed) {
    return denied(
      `${changed}: a reconnect changes only the data of Secret ${name}; everything else of it stays as the account's Owners and Admins set it`,
    );
  }
  return allowed();
}

import { Annotations } from '../api/v1alpha1/group.js';
import { Workspace } from '../api/v1alpha1/index.js';
import { SECRET_NAME } from '../domain/children.js';
import { OperatorError, isCode } from '../errors.js';
import type { Api } from '../kube/api.js';
import { Resources, resourcePath, type ResourceType } from '../kube/resources.js';
import { gitopsOwner } from './gitops.js';
import { namespaceOf, parseObject, readHome, readInvitation, readWorkspace } from './view.js';

/**
 * The writes of `kubectl taskjuice`: each sets what the operator's API already offers (an annotation, a spec
 * field) and lets the operator do the work, exactly as a `kubectl annotate` or a commit in Git would. Every write
 * carries the read object's resourceVersion, so one made on a stale read fails rather than overwrites.
 */

/** The field manager of the plugin's writes, so `managedFields` tells them from the operator's and Git's. */
export const PLUGIN_FIELD_MANAGER = 'kubectl-taskjuice';

const WAIT_MS = 120_000;

/** The line that says the same change belongs in Git, for an object a GitOps controller applied; else nothing. */
function inGit(what: string, metadata: Parameters<typeof gitopsOwner>[0], change: string): string {
  const owner = gitopsOwner(metadata);
  return owner === undefined ? '' : `${what} is applied by ${owner}: ${change}.\n`;
}

async function mergePatch(
  api: Api,
  r: ResourceType,
  ref: { namespace: string; name: string },
  patch: unknown,
): Promise<unknown> {
  return api.client.request({
    method: 'PATCH',
    path: resourcePath(r, ref),
    query: { fieldManager: PLUGIN_FIELD_MANAGER },
    contentType: 'application/merge-patch+json',
    body: patch,
  });
}

async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new OperatorError('Timeout', `gave up after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A value the rotate annotation has not held: the time, to the millisecond. */
export const rotationValue = (now: Date): string => now.toISOString();

export async function rotate(
  api: Api,
  accountName: string,
  slug: string,
  opts: { wait: boolean; now: Date },
): Promise<string> {
  const home = await readHome(api, accountName);
  const ws = await readWorkspace(api, home, slug);
  const namespace = ws.metadata.namespace ?? accountName;
  if (ws.metadata.deletionTimestamp !== undefined)
    throw new OperatorError(
      'Invalid',
      `workspace ${accountName}/${slug} is being deleted; there is nothing to rotate`,
    );
  const value = rotationValue(opts.now);
  await mergePatch(
    api,
    Resources.Workspace,
    { namespace, name: slug },
    {
      metadata: {
        resourceVersion: ws.metadata.resourceVersion,
        annotations: { [Annotations.rotateCredentials]: value },
      },
    },
  );
  const secret = `${namespaceOf(accountName, ws)}/${ws.status?.binding?.name ?? SECRET_NAME}`;
  const asked = `workspace ${accountName}/${slug}: new credentials asked for (${Annotations.rotateCredentials}=${value}).`;
  if (!opts.wait)
    return `${asked}\nThe operator gives the role a new password and writes it to Secret ${secret}; status.database.rotation shows ${value} once done (or run with --wait).\n`;
  await poll(`workspace ${accountName}/${slug} to carry out rotation ${value}`, async () => {
    const raw = await api.get(Resources.Workspace, { namespace, name: slug });
    if (raw === undefined)
      throw new OperatorError('NotFound', `workspace ${accountName}/${slug} was deleted`);
    return parseObject(Workspace, raw, `workspace ${namespace}/${slug}`).status?.database?.rotation === value
      ? true
      : undefined;
  });
  return `${asked}\nDone: the role has a new password and Secret ${secret} carries it. Applications that read the Secret at start need a restart.\n`;
}

export async function resend(api: Api, accountName: string, name: string): Promise<string> {
  const home = await readHome(api, accountName);
  const inv = await readInvitation(api, home, name);
  const namespace = inv.metadata.namespace ?? accountName;
  if (inv.spec.revoked)
    throw new OperatorError(
      'Invalid',
      `invitation ${accountName}/${name} is revoked; create a new invitation for ${inv.spec.email} instead`,
    );
  if (inv.status?.phase === 'Accepted')
    throw new OperatorError(
      'Invalid',
      `invitation ${accountName}/${name} was accepted by ${inv.spec.email}; there is nothing to send again`,
    );
  const revision = inv.spec.resendRevision + 1;
  await mergePatch(
    api,
    Resources.ClientInvitation,
    { namespace, name },
    { metadata: { resourceVersion: inv.metadata.resourceVersion }, spec: { resendRevision: revision } },
  );
  return `invitation ${accountName}/${name}: sending again to ${inv.spec.email} (spec.resendRevision=${revision}); the new link expires 7 days after it is sent and the old one stops working.\n${inGit(`invitation ${name}`, inv.metadata, `if its manifest sets spec.resendRevision, raise it there to ${revision} too, or the next sync sets it back`)}`;
}

export async function revoke(api: Api, accountName: string, name: string): Promise<string> {
  const home = await readHome(api, accountName);
  const inv = await readInvitation(api, home, name);
  const namespace = inv.metadata.namespace ?? accountName;
  if (inv.spec.revoked)
    return `invitation ${accountName}/${name} is already revoked (phase ${inv.status?.phase ?? 'unknown'}).\n`;
  await mergePatch(
    api,
    Resources.ClientInvitation,
    { namespace, name },
    { metadata: { resourceVersion: inv.metadata.resourceVersion }, spec: { revoked: true } },
  );
  const accepted = inv.status?.phase === 'Accepted';
  return `invitation ${accountName}/${name}: revoked (spec.revoked=true); its link stops working${accepted ? `, and ${inv.spec.email} loses access to workspace ${inv.spec.workspace}` : ''}.\n${inGit(`invitation ${name}`, inv.metadata, 'set revoked: true in its manifest too, or a sync of revoked: false gives the access back')}`;
}

export async function deleteWorkspace(
  api: Api,
  accountName: string,
  slug: string,
  opts: { confirm: boolean; wait: boolean },
): Promise<string> {
  const home = await readHome(api, accountName);
  const ws = await readWorkspace(api, home, slug);
  const namespace = ws.metadata.namespace ?? accountName;
  if (ws.metadata.deletionTimestamp !== undefined)
    return `workspace ${accountName}/${slug} is already being deleted (since ${ws.metadata.deletionTimestamp}).\n`;
  const db = ws.status?.database;
  const what = [
    `namespace ${namespaceOf(accountName, ws)} and everything in it`,
    db ? `PostgreSQL schema ${db.schema} and role ${db.role}` : 'its PostgreSQL schema and role',
  ].join(', ');
  if (!opts.confirm)
    throw new OperatorError(
      'BadRequest',
      `deleting workspace ${accountName}/${slug} deletes its client's data: ${what}. Nothing was changed.\nRun again with --confirm to set ${Annotations.confirmDelete}=${slug} (the confirmation the webhook asks for) and delete it.\n${inGit(`workspace ${slug}`, ws.metadata, 'delete it through Git instead: commit the confirmation, then remove it (docs/deleting-workspaces.md)')}`.trimEnd(),
    );
  if (ws.metadata.annotations?.[Annotations.confirmDelete] !== slug)
    await mergePatch(
      api,
      Resources.Workspace,
      { namespace, name: slug },
      {
        metadata: {
          resourceVersion: ws.metadata.resourceVersion,
          annotations: { [Annotations.confirmDelete]: slug },
        },
      },
    );
  // The uid precondition: a workspace re-created under the same slug meanwhile is not the one confirmed.
  const deleted = await api.delete(Resources.Workspace, { namespace, name: slug }, { uid: ws.metadata.uid });
  if (!deleted) return `workspace ${accountName}/${slug} was already gone.\n`;
  const started = `workspace ${accountName}/${slug}: deletion confirmed (${Annotations.confirmDelete}=${slug}) and requested; the operator removes ${what}.`;
  const gitops = inGit(
    `workspace ${slug}`,
    ws.metadata,
    'remove it from Git too, or the next sync creates it again, empty (a new namespace, schema and role)',
  );
  if (!opts.wait) return `${started}\nIt shows phase Deleting until then.\n${gitops}`;
  await poll(`workspace ${accountName}/${slug} to be gone`, async () => {
    try {
      return (await api.get(Resources.Workspace, { namespace, name: slug })) === undefined ? true : undefined;
    } catch (err) {
      if (isCode(err, 'NotFound')) return true;
      throw err;
    }
  });
  return `${started}\nDone: the workspace is gone.\n${gitops}`;
}

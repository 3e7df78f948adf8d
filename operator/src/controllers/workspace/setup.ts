import { Ready, Reason, findCondition, isTrue } from '../../api/conditions.js';
import { childInformers, type WorkspaceObject } from '../../caches.js';
import { tenantNames } from '../../db/names.js';
import { CLIENT_CONNECTIONS_PREFIX, ownerOf } from '../../domain/children.js';
import { Labels } from '../../api/v1alpha1/group.js';
import { Watches } from '../../kube/builder.js';
import type { Controller } from '../../kube/controller.js';
import { keyOf, type CachedObject } from '../../kube/informer.js';
import type { SetupContext } from '../context.js';
import { FINALIZER } from './desired.js';
import { WorkspaceReconciler } from './reconcile.js';

/** A workspace that waits for a server to be placed on or opened. */
const waitsForServer = (w: WorkspaceObject): boolean => {
  const reason = findCondition(w.status?.conditions, Ready)?.reason;
  return reason === 'NoDatabaseServer' || reason === 'DatabaseServerNotOpen';
};

/** A workspace that waits for a free place in its account's plan. */
const waitsForPlan = (w: WorkspaceObject): boolean =>
  findCondition(w.status?.conditions, Ready)?.reason === Reason.OverPlanLimit;

/** The workspace whose clients a home-namespace Role or binding of reconnect rights is for. */
const clientConnectionsOwner = (o: CachedObject): string | undefined => {
  const slug = o.metadata.labels?.[Labels.workspace];
  return o.metadata.name.startsWith(CLIENT_CONNECTIONS_PREFIX) && slug && o.metadata.namespace
    ? `${o.metadata.namespace}/${slug}`
    : undefined;
};

/** The Workspace controller: what it watches, and how each event maps to the workspaces it concerns. */
export function setupWorkspace(mgr: SetupContext): Controller {
  const { caches } = mgr;
  const reconciler = new WorkspaceReconciler(mgr);
  const controller = mgr.controller(reconciler);
  // Gone while it still carried the finalizer: deleted before the finalizer held (see WorkspaceReconciler.vanished).
  caches.workspaces.on({
    delete: (w) => {
      if (w.metadata.finalizers?.includes(FINALIZER)) reconciler.vanished.set(keyOf(w), w);
    },
  });
  const workspacesOf = (account: string) => [...caches.workspaces.inNamespace(account)].map(keyOf);
  new Watches(controller)
    .for(caches.workspaces)
    // It reads none of its children's status: the quota controller counting a workspace's quota is no change.
    .owns(
      childInformers(caches),
      (child) => {
        const owner = ownerOf(child.metadata.labels);
        return owner?.component === 'workspace' ? `${owner.account}/${owner.slug}` : undefined;
      },
      { ignoreStatus: true },
    )
    // Teammates feed the staff binding of every workspace; the uid feeds their namespaces' owner reference.
    .watches(caches.accounts, (a, old) =>
      !old || old.metadata.generation !== a.metadata.generation || old.metadata.uid !== a.metadata.uid
        ? workspacesOf(a.metadata.name)
        : undefined,
    )
    // Accepted and revoked clients feed the client binding.
    .watches(caches.invitations, (inv) =>
      inv.metadata.namespace && inv.spec ? `${inv.metadata.namespace}/${inv.spec.workspace}` : undefined,
    )
    // Connections feed the clients' reconnect Role (a copy's lineage names another workspace's Secret).
    .watches(caches.connections, (c, old) =>
      c.metadata.namespace && c.spec && (!old || old.metadata.generation !== c.metadata.generation)
        ? `${c.metadata.namespace}/${c.spec.workspace}`
        : undefined,
    )
    // That Role and its binding live in the home namespace, named after the workspace.
    .watches(caches.roles, clientConnectionsOwner, { events: ['update', 'delete'] })
    .watches(caches.roleBindings, clientConnectionsOwner, { events: ['update', 'delete'] })
    // A server opened, changed or freed room: the workspaces waiting for one look again.
    .watches(caches.databaseServers, (s) =>
      [...caches.workspaces.list()]
        .filter(
          (w) =>
            waitsForServer(w) ||
            (w.status?.databaseServer === s.metadata.name &&
              (s.spec?.state === 'Draining' || !isTrue(w.status?.conditions, Ready))),
        )
        .map(keyOf),
    )
    // A place in the plan is free: the workspaces waiting for one look again.
    .watches(
      caches.workspaces,
      (w) =>
        w.metadata.namespace
          ? [...caches.workspaces.inNamespace(w.metadata.namespace)].filter(waitsForPlan).map(keyOf)
          : undefined,
      { events: ['delete'] },
    );
  // A workspace whose schema or role disappeared is provisioned again.
  mgr.onDriftCheck(() => {
    const prefix = mgr.config.database.namePrefix;
    for (const ws of caches.workspaces.list()) {
      const names = tenantNames(prefix, ws.metadata.namespace ?? '', ws.metadata.name);
      if (!ws.metadata.deletionTimestamp && !mgr.servers.has(names)) controller.enqueue(keyOf(ws));
    }
  });
  return controller;
}

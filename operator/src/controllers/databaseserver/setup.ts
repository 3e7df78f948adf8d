import { DEFAULT_SERVER } from '../../api/v1alpha1/databaseserver.js';
import { Watches } from '../../kube/builder.js';
import type { Controller } from '../../kube/controller.js';
import type { SetupContext } from '../context.js';
import { DatabaseServerReconciler } from './reconcile.js';

/** The DatabaseServer controller: its own kind, and the workspaces whose placement changes its count. */
export function setupDatabaseServer(mgr: SetupContext): Controller {
  const { caches } = mgr;
  const controller = mgr.controller(new DatabaseServerReconciler(mgr));
  const serverOf = (w: { status?: { databaseServer?: string; database?: unknown } | undefined }) =>
    w.status?.databaseServer ?? (w.status?.database !== undefined ? DEFAULT_SERVER : undefined);
  new Watches(controller)
    .for(caches.databaseServers)
    // Counts change with every placement: a burst of them is one status write a few seconds later.
    .watches(
      caches.workspaces,
      (w, old) => {
        const now = serverOf(w);
        const before = old ? serverOf(old) : undefined;
        if (now === before && old) return undefined;
        return [now, before].filter(
          (s): s is string => s !== undefined && caches.databaseServers.get(s) !== undefined,
        );
      },
      { delayMs: 2_000 },
    );
  return controller;
}

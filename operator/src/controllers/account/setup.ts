import { childInformers } from '../../caches.js';
import { ownerOf } from '../../domain/children.js';
import { Watches } from '../../kube/builder.js';
import type { Controller } from '../../kube/controller.js';
import type { SetupContext } from '../context.js';
import { OrphanScan } from './orphan-scan.js';
import { OrphanReport } from './orphans.js';
import { AccountReconciler } from './reconcile.js';

/**
 * How long an account waits after a workspace comes or goes before it recounts: a burst of creates is one status
 * write per account, not one per workspace. The count is for people; the webhook and the quota, which enforce the
 * limit, do not read it.
 */
const COUNT_REFRESH_MS = 1_000;

/** The Account controller: what it watches, and how each event maps to the accounts it concerns. */
export function setupAccount(mgr: SetupContext): Controller {
  const { caches } = mgr;
  const report = new OrphanReport(caches, mgr.servers, mgr.config.database.namePrefix);
  const controller = mgr.controller(new AccountReconciler(mgr, report));
  new Watches(controller)
    .for(caches.accounts, ['add', 'update'])
    .owns(childInformers(caches), (child) => {
      const owner = ownerOf(child.metadata.labels);
      return owner?.component === 'home' ? owner.account : undefined;
    })
    .watches(caches.workspaces, (w) => w.metadata.namespace, {
      events: ['add', 'delete'],
      delayMs: COUNT_REFRESH_MS,
    });
  const scan = new OrphanScan(report, controller, mgr);
  scan.watch();
  mgr.onDriftCheck(() => scan.now());
  mgr.onStart(() => scan.now());
  return controller;
}

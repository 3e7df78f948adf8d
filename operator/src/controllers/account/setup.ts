import { childInformers, type Caches } from '../../caches.js';
import { ownerOf } from '../../domain/children.js';
import { Watches, sameButStatus } from '../../kube/builder.js';
import type { CachedObject, Informer } from '../../kube/informer.js';
import type { Controller } from '../../kube/controller.js';
import type { SetupContext } from '../context.js';
import { OrphanScan } from './orphan-scan.js';
import { OrphanReport } from './orphans.js';
import { AccountReconciler } from './reconcile.js';

/**
 * How long an account waits after a workspace comes or goes before it recounts: a burst of creates is one status
 * write per account every 3 s, not one per workspace (with 1 s, a burst of 1,000 in 10 accounts still cost 0.4
 * account writes per workspace, each sent on to every watcher of accounts). The count is for people; the webhook
 * and the quota, which enforce the limit, do not read it.
 */
const COUNT_REFRESH_MS = 3_000;

type Quota = Caches['quotas'] extends Informer<infer T> ? T : never;

/** Whether a quota changed in nothing but the usage it reports, having reported some before. */
function onlyRecounted(old: Quota, quota: Quota): boolean {
  return (
    old.status?.used !== undefined &&
    sameButStatus(old, quota) &&
    JSON.stringify(old.status.hard) === JSON.stringify(quota.status?.hard)
  );
}

/** The Account controller: what it watches, and how each event maps to the accounts it concerns. */
export function setupAccount(mgr: SetupContext): Controller {
  const { caches } = mgr;
  const report = new OrphanReport(caches, mgr.servers, mgr.config.database.namePrefix);
  const controller = mgr.controller(new AccountReconciler(mgr, report));
  const homeOf = (child: CachedObject) => {
    const owner = ownerOf(child.metadata.labels);
    return owner?.component === 'home' ? owner.account : undefined;
  };
  new Watches(controller)
    .for(caches.accounts, ['add', 'update'])
    .owns(
      childInformers(caches).filter((i) => i !== caches.quotas),
      homeOf,
    )
    // The quota controller recounts the home quota after every workspace that comes or goes. A recount (only the
    // used figures changed) is not the account's business: the workspace events below refresh the count.
    .watches(caches.quotas, (quota, old) => (old && onlyRecounted(old, quota) ? undefined : homeOf(quota)), {
      events: ['update', 'delete'],
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

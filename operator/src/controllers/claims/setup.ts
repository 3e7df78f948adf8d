import { Labels } from '../../api/v1alpha1/group.js';
import { Watches } from '../../kube/builder.js';
import type { Controller } from '../../kube/controller.js';
import type { SetupContext } from '../context.js';
import { ClaimReconciler } from './reconcile.js';

/**
 * The claims controller, keyed by account: teammates, invitations and the claims themselves bring it back. It runs
 * only with the webhook, which the claims exist for.
 */
export function setupClaims(mgr: SetupContext): Controller {
  const { caches, config } = mgr;
  const controller = mgr.controller(
    new ClaimReconciler(mgr, caches.claims, config.namespace, config.webhook.claimGraceMs),
  );
  // Without the webhook the controller never starts (operator.ts): keys queued for it would wait for ever and
  // keep workqueue_depth above zero, which reads as a backlog on a dashboard.
  if (!config.webhook.enabled) return controller;
  new Watches(controller)
    .watches(caches.accounts, (a) => a.metadata.name)
    .watches(caches.invitations, (inv) => inv.metadata.namespace)
    .watches(caches.claims, (c) => c.metadata.labels?.[Labels.account]);
  return controller;
}

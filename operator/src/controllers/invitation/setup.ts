import { Watches } from '../../kube/builder.js';
import type { Controller } from '../../kube/controller.js';
import { keyOf } from '../../kube/informer.js';
import type { Mailer } from '../../domain/invitations.js';
import type { SetupContext } from '../context.js';
import { InvitationReconciler } from './reconcile.js';

/** The ClientInvitation controller: what it watches, and how each event maps to the invitations it concerns. */
export function setupInvitation(mgr: SetupContext, mailer: Mailer): Controller {
  const { caches } = mgr;
  const controller = mgr.controller(new InvitationReconciler(mgr, mailer));
  const invitationsOf = (account: string, slug?: string) =>
    [...caches.invitations.inNamespace(account)]
      .filter((inv) => slug === undefined || inv.spec?.workspace === slug)
      .map(keyOf);
  new Watches(controller)
    .for(caches.invitations)
    // The account's teammates decide whether an invitation's email may be a client.
    .watches(
      caches.accounts,
      (a, old) =>
        !old || old.metadata.generation !== a.metadata.generation
          ? invitationsOf(a.metadata.name)
          : undefined,
      { events: ['add', 'update'] },
    )
    // An invitation to a workspace that does not exist (yet, or any more) is rejected.
    .watches(
      caches.workspaces,
      (w) => (w.metadata.namespace ? invitationsOf(w.metadata.namespace, w.metadata.name) : undefined),
      { events: ['add', 'delete'] },
    );
  return controller;
}

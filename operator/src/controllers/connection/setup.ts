import { Labels } from '../../api/v1alpha1/group.js';
import type { ConnectionObject } from '../../caches.js';
import { copiesOf, lineageOf } from '../../domain/connections.js';
import { Watches } from '../../kube/builder.js';
import type { Controller } from '../../kube/controller.js';
import { keyOf } from '../../kube/informer.js';
import type { SetupContext } from '../context.js';
import { ConnectionReconciler } from './reconcile.js';

/** The Connection controller: what it watches, and how each event maps to the connections it concerns. */
export function setupConnection(mgr: SetupContext): Controller {
  const { caches } = mgr;
  const reconciler = new ConnectionReconciler(mgr);
  const controller = mgr.controller(reconciler);
  const inAccount = (account: string) => [...caches.connections.inNamespace(account)];
  const keysOf = (account: string, names: Iterable<string>) => [...names].map((n) => `${account}/${n}`);
  /** The copies of a connection, and the connections it is a copy of (their count of copies changes with it). */
  const relatives = (c: ConnectionObject) => {
    const account = c.metadata.namespace ?? '';
    const entries = reconciler.entries(account);
    const up = lineageOf(c.metadata.name, entries).chain.slice(1);
    const down = copiesOf(c.metadata.name, entries).map((x) => x.name);
    return keysOf(account, [...up, ...down]);
  };
  const lineageChanged = (c: ConnectionObject, old?: ConnectionObject) => {
    if (!old) return true;
    const was = old.status?.credentials;
    const now = c.status?.credentials;
    return (
      old.metadata.generation !== c.metadata.generation ||
      was?.latestRevision !== now?.latestRevision ||
      was?.digest !== now?.digest ||
      was?.secretName !== now?.secretName
    );
  };
  new Watches(controller)
    .for(caches.connections)
    // A new revision of a source, a new copy or a deleted one: its lineage looks again. A copy's own status
    // changes nothing for the others, so a cascade is one pass per copy, not one per copy per copy.
    .watches(caches.connections, (c, old) => (lineageChanged(c, old) ? relatives(c) : undefined))
    // New credentials: every source that names the Secret.
    .watches(caches.credentialSources, (s) => {
      const account = s.metadata.namespace ?? '';
      return inAccount(account)
        .filter((c) => c.spec?.credentials?.secretRef.name === s.metadata.name)
        .map(keyOf);
    })
    // A connection's Secret changed or deleted by someone else is put back.
    .watches(
      caches.mountedSecrets,
      (s) => {
        const account = s.metadata.labels?.[Labels.account];
        const connection = s.metadata.labels?.[Labels.connection];
        return account && connection ? `${account}/${connection}` : undefined;
      },
      { events: ['update', 'delete'] },
    )
    // A workspace that becomes ready (or goes) brings its connections.
    .watches(caches.workspaces, (w) => {
      const account = w.metadata.namespace ?? '';
      return inAccount(account)
        .filter((c) => c.spec?.workspace === w.metadata.name)
        .map(keyOf);
    });
  return controller;
}

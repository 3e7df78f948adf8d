import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { TenantInventory } from '../db/inventory.js';
import type { Api } from '../kube/api.js';
import type { EventRecorder } from '../kube/events.js';
import type { Informer } from '../kube/informer.js';
import type { OrphanReport } from './account/orphans.js';

/** The informers the controllers read from; children are those labelled as managed by the operator. */
export interface Caches {
  accounts: Informer;
  workspaces: Informer;
  invitations: Informer;
  namespaces: Informer;
  roleBindings: Informer;
  networkPolicies: Informer;
  secrets: Informer;
  quotas: Informer;
  limitRanges: Informer;
  /** The staff/client claims, ConfigMaps in the operator's namespace. */
  claims: Informer;
}

/** What every reconciler works with. */
export interface ControllerContext {
  api: Api;
  db: Database;
  inventory: TenantInventory;
  config: Config;
  caches: Caches;
  events: EventRecorder;
  /** What the last scan found left behind by workspaces that are gone, per account. */
  orphans: OrphanReport;
  now(): Date;
}

import type { Caches } from '../caches.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { TenantInventory } from '../db/inventory.js';
import type { DatabaseServers } from '../db/servers.js';
import type { PlacementIndex } from '../domain/placement.js';
import type { Api } from '../kube/api.js';
import type { Controller, Reconciler } from '../kube/controller.js';
import type { EventRecorder } from '../kube/events.js';
import type { Metrics } from '../metrics.js';

/** What every reconciler works with. */
export interface ControllerContext {
  api: Api;
  db: Database;
  /** The default server's tenant inventory (DATABASE_URL). */
  inventory: TenantInventory;
  /** Every PostgreSQL server workspaces are placed on, the default one included. */
  servers: DatabaseServers;
  /** How many workspaces each server holds. */
  placement: PlacementIndex;
  config: Config;
  caches: Caches;
  events: EventRecorder;
  metrics: Metrics;
  now(): Date;
}

/**
 * What the manager gives a kind's setup (controller-runtime's SetupWithManager): the shared pieces, a controller
 * for its reconciler, and the hooks of the manager's life a kind may need.
 */
export interface SetupContext extends ControllerContext {
  /** The controller of a reconciler: its work queue and workers, started when this replica leads. */
  controller(reconciler: Reconciler): Controller;
  /** Runs after each drift check has re-read the tenant inventory (leader only). */
  onDriftCheck(check: () => void): void;
  /** Runs when the controllers start, before their workers take the first key. */
  onStart(hook: () => void): void;
  /** Whether every cache has synced. */
  synced(): boolean;
  /** Ends with the manager. */
  signal: AbortSignal;
}

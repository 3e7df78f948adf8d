import { readFileSync } from 'node:fs';
import { buildCaches } from '../caches.js';
import type { Config } from '../config.js';
import type { ControllerContext } from '../controllers/context.js';
import { Database } from '../db/database.js';
import { TenantInventory } from '../db/inventory.js';
import { DatabaseServers, isPemCertificate } from '../db/servers.js';
import { errorMessage, OperatorError } from '../errors.js';
import { DEFAULT_SERVER } from '../api/v1alpha1/databaseserver.js';
import { PlacementIndex } from '../domain/placement.js';
import { keyOf } from '../kube/informer.js';
import { Api } from '../kube/api.js';
import type { KubeClient } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics.js';

/** The server CA of DATABASE_CLIENT_CA_FILE, read once at start (docs/credentials.md: a new one needs a restart). */
function readClientCa(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new OperatorError(
      'Config',
      `invalid configuration: DATABASE_CLIENT_CA_FILE: cannot read ${file}: ${errorMessage(err)}`,
    );
  }
  if (!isPemCertificate(text))
    throw new OperatorError(
      'Config',
      `invalid configuration: DATABASE_CLIENT_CA_FILE: ${file} holds no PEM certificate`,
    );
  return text;
}

export interface SharedOptions {
  config: Config;
  kube: KubeClient;
  log: Logger;
  metrics?: Metrics;
  /** The clock the controllers read (tests inject one). */
  now?: () => Date;
  /**
   * Why this replica must not write now, if it must not (a leader that cannot be sure of its Lease any more):
   * checked before every API write but the Lease's, and before every SQL statement.
   */
  fence?: () => string | undefined;
}

/**
 * The pieces every component shares: the API client (its requests counted), the database and its tenant
 * inventory, the typed caches and the event recorder. The manager builds them once; a reconciler test builds them
 * the same way and calls a reconciler directly.
 */
export function buildShared(opts: SharedOptions): ControllerContext {
  const { config, kube, log } = opts;
  const metrics = opts.metrics ?? new Metrics({ processMetrics: true });
  kube.onRequest(metrics.observeApiRequest);
  const api = new Api(kube);
  if (opts.fence) kube.fenceWrites(opts.fence);
  const db = new Database({
    ...config.database,
    log: log.child({ component: 'database' }),
    metrics,
    fence: opts.fence,
  });
  const inventory = new TenantInventory(db, config.database.namePrefix);
  const {
    clientHost: host,
    clientPort: port,
    databaseName: database,
    clientSslMode: sslMode,
  } = config.database;
  const servers = new DatabaseServers(
    {
      name: DEFAULT_SERVER,
      db,
      inventory,
      client: { host, port, database, sslMode, caCertificate: readClientCa(config.database.clientCaFile) },
      url: config.database.url,
    },
    { config, log, metrics, fence: opts.fence },
  );
  const caches = buildCaches(api, config, log);
  const placement = new PlacementIndex(DEFAULT_SERVER);
  caches.workspaces.on({
    add: (w) => placement.observe(keyOf(w), w),
    update: (_, w) => placement.observe(keyOf(w), w),
    delete: (w) => placement.observe(keyOf(w), undefined),
  });
  return {
    api,
    db,
    inventory,
    servers,
    placement,
    config,
    caches,
    events: new EventRecorder(api, {
      controller: 'taskjuice.io/workspace-operator',
      instance: config.leaderElection.identity,
      log,
    }),
    metrics,
    now: opts.now ?? (() => new Date()),
  };
}

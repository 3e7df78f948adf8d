import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { TenantInventory } from '../db/inventory.js';
import { errorMessage, isCode } from '../errors.js';
import { sleep } from '../kube/informer.js';
import { healthHandler, listen, metricsHandler } from '../http.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

const RETRY_MS = 2_000;

/**
 * Whether PostgreSQL answers, as /readyz reports it (informational: admission needs no database). Known from the
 * statements the operator sends anyway (`Database.onReachability`), so an idle operator sends no SQL to find out; after
 * a failure, a probe re-checks at most every two seconds. Until the first inventory load it is not ready.
 */
export class DatabaseHealth {
  private known = false;
  private lastProbe = 0;
  /** Why the database set-up is refused, for /readyz. */
  problem: string | undefined;

  constructor(
    private readonly db: Database,
    private readonly inventory: TenantInventory,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    db.onReachability((answering) => {
      if (this.inventory.isLoaded || !answering) this.healthy = answering;
    });
  }

  private get healthy(): boolean {
    return this.known;
  }

  /** What the operator last learned of PostgreSQL, also for workspace_operator_database_up. */
  private set healthy(up: boolean) {
    this.known = up;
    this.metrics?.databaseUp.set(up ? 1 : 0);
  }

  /**
   * Bootstrap and the first inventory load, retried until PostgreSQL answers. A refusal (code Config: the server
   * leaves tenants a way out, see docs/security.md) is retried too, since an administrator fixes it on the server
   * without restarting anything: the replica stays unready, /readyz says why and the log says it once, at error
   * level, with the statements that fix it. During a rolling update the old replica keeps working meanwhile.
   */
  async connect(signal: AbortSignal): Promise<void> {
    let logged = '';
    while (!signal.aborted) {
      try {
        await this.db.bootstrap();
        await this.inventory.refresh();
        this.problem = undefined;
        this.healthy = true;
        return;
      } catch (err) {
        const message = errorMessage(err);
        if (isCode(err, 'Config')) {
          this.problem = message;
          if (message !== logged) this.log.error({ err: message }, 'PostgreSQL set-up refused');
          logged = message;
        } else {
          this.problem = undefined;
          this.log.warn({ err: message }, 'PostgreSQL is not ready; retrying');
        }
        await sleep(RETRY_MS, signal);
      }
    }
  }

  /** Ready means the database answered. */
  async ready(): Promise<boolean> {
    if (this.healthy) return true;
    if (!this.inventory.isLoaded || Date.now() - this.lastProbe < RETRY_MS) return false;
    this.lastProbe = Date.now();
    // The ping's outcome reaches `healthy` through the reachability listener.
    await this.db.ping().catch(() => undefined);
    return this.healthy;
  }
}

export interface HealthState {
  /** Every cache synced. */
  synced(): boolean;
  /** The webhook serves (or is not enabled). */
  serving(): boolean;
  controllersStarted(): boolean;
}

/**
 * The health and metrics servers. /readyz gates on the informers, the webhook and a database set-up that was not
 * refused; the database and the controllers are reported but informational: a replica whose database is down still
 * answers admission reviews, and a replica that does not lead runs no controllers.
 */
export async function serveHealth(
  config: Config,
  metrics: Metrics,
  database: DatabaseHealth,
  state: HealthState,
): Promise<{ healthPort: number; metricsPort: number; servers: { close(): Promise<void> }[] }> {
  const { bindAddress } = config.http;
  const health = await listen(
    healthHandler([
      { name: 'informers', ok: state.synced },
      { name: 'webhook', ok: state.serving },
      // A set-up the operator refused is a configuration a person must fix: the replica is not ready, so a rollout
      // onto such a server stops while the old replicas serve. An outage is not: admission needs no database.
      { name: 'database-setup', ok: () => database.problem === undefined, detail: () => database.problem },
      { name: 'database', ok: () => database.ready(), detail: () => database.problem, informational: true },
      { name: 'controllers', ok: state.controllersStarted, informational: true },
    ]),
    bindAddress,
    config.http.healthPort,
  );
  const served = await listen(metricsHandler(metrics), bindAddress, config.http.metricsPort);
  return { healthPort: health.port, metricsPort: served.port, servers: [health, served] };
}

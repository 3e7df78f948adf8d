import { DEFAULT_SERVER } from '../api/v1alpha1/databaseserver.js';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { Database, type Leadership } from './database.js';
import { TenantInventory } from './inventory.js';
import type { TenantNames } from './names.js';

/** Where a workspace's applications reach its server: written into the workspace's Secret. */
export interface ClientEndpoint {
  host: string;
  port: number;
  database: string;
  sslMode: string | undefined;
  /** The CA certificate (PEM) that signed the server's, for clients that verify it (sslmode=verify-full). */
  caCertificate?: string;
}

/** Whether a text holds a PEM certificate. */
export const isPemCertificate = (text: string) =>
  /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(text);

/** One PostgreSQL server the operator provisions tenants on: its pool, its tenant inventory, its client endpoint. */
export interface Server {
  name: string;
  db: Database;
  inventory: TenantInventory;
  client: ClientEndpoint;
  /** The connection string it was opened with (never logged: it holds a password). */
  url: string;
}

/** What the registry needs to open a server's pool. */
export interface ServerFactoryOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  fence?: () => string | undefined;
}

/** The endpoint and database name a connection string names. */
export function endpointOf(url: string): ClientEndpoint {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new Error('the connection string names no database (postgres://…/<database>)');
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 5432,
    database,
    sslMode: u.searchParams.get('sslmode') ?? undefined,
  };
}

/**
 * Every PostgreSQL server the operator places workspaces on: the configuration's DATABASE_URL as the server named
 * `default`, and one per DatabaseServer the controller opened. Each has a pool of its own, so a server that is down
 * fails only the workspaces placed on it. The leader's fence reaches every server, those opened later included.
 */
export class DatabaseServers {
  private readonly servers = new Map<string, Server>();
  private leadership: Leadership | undefined;

  constructor(
    readonly primary: Server,
    private readonly opts: ServerFactoryOptions,
  ) {
    this.servers.set(DEFAULT_SERVER, primary);
  }

  get(name: string): Server | undefined {
    return this.servers.get(name);
  }

  list(): Server[] {
    return [...this.servers.values()];
  }

  /** The server whose inventory holds the tenant, if one does. */
  locate(names: TenantNames): Server | undefined {
    return this.list().find((s) => s.inventory.has(names));
  }

  /** Whether any server holds the tenant (for the orphan report and drift checks). */
  has(names: TenantNames): boolean {
    return this.locate(names) !== undefined;
  }

  /** Whether every server's inventory is loaded: only then can a placement know that a tenant exists nowhere. */
  get allLoaded(): boolean {
    return this.list().every((s) => s.inventory.isLoaded);
  }

  get isLoaded(): boolean {
    return this.primary.inventory.isLoaded;
  }

  /** Re-reads every server's inventory; a server that fails keeps its last one, the others go on. */
  async refresh(): Promise<void> {
    const results = await Promise.allSettled(this.list().map((s) => s.inventory.refresh()));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${this.list()[i]?.name}: ${errorMessage(r.reason)}`] : [],
    );
    if (failed.length > 0) this.opts.log.warn({ servers: failed }, 'tenant inventory not refreshed');
  }

  lead(leadership: Leadership): void {
    this.leadership = leadership;
    for (const s of this.list()) s.db.lead(leadership);
  }

  /**
   * Opens (or keeps) the server of a DatabaseServer, with the CA its workspaces verify it by: a new connection
   * string closes the old pool. Its set-up and
   * inventory are loaded before it is listed, so that no placement counts a server whose tenants it cannot see.
   */
  async open(name: string, url: string, caCertificate?: string): Promise<Server> {
    const existing = this.servers.get(name);
    if (existing && existing.url === url) {
      // A new CA reaches the Secrets of the server's workspaces at their next pass; the pool stays.
      existing.client.caCertificate = caCertificate;
      return existing;
    }
    const client = { ...endpointOf(url), caCertificate };
    const db = new Database({
      ...this.opts.config.database,
      url,
      databaseName: client.database,
      log: this.opts.log.child({ component: 'database', server: name }),
      metrics: this.opts.metrics,
      fence: this.opts.fence,
    });
    const server: Server = {
      name,
      db,
      inventory: new TenantInventory(db, this.opts.config.database.namePrefix),
      client,
      url,
    };
    try {
      await db.bootstrap();
      await server.inventory.refresh();
    } catch (err) {
      await db.close();
      throw err;
    }
    if (this.leadership) db.lead(this.leadership);
    this.servers.set(name, server);
    if (existing) await existing.db.close();
    return server;
  }

  /** Closes and forgets the server of a DatabaseServer that is gone (never the default). */
  async remove(name: string): Promise<void> {
    const existing = this.servers.get(name);
    if (!existing || name === DEFAULT_SERVER) return;
    this.servers.delete(name);
    await existing.db.close();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.list().map((s) => s.db.close()));
  }
}

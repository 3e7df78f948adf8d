import pg from 'pg';
import { OperatorError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { TenantNames } from './names.js';
import { scramVerifier } from './scram.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

export type Operation = 'bootstrap' | 'provision' | 'drop' | 'inventory' | 'ping' | 'query';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  databaseName: string;
  tenantGroup: string;
  tenantConnectionLimit: number;
  log: Logger;
  metrics: Metrics;
  /** A check before every statement: a reason refuses it (a leader that cannot be sure of its Lease any more). */
  fence?: () => string | undefined;
}

/**
 * The operator's side of PostgreSQL: one pool, and the statements that provision, rotate and drop tenants. Every
 * identifier is quoted; tenant DDL takes a per-tenant advisory lock, so that two replicas running it at once (leader
 * election narrows that window but cannot close it) serialize instead of failing on a duplicate role or schema.
 *
 * Passwords: only a SCRAM verifier computed here reaches the server, and where the operator may, it turns
 * statement logging off for the transaction that carries it.
 */
export class Database {
  private readonly pool: pg.Pool;
  private canSilenceLog = false;

  constructor(private readonly opts: DatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      application_name: 'workspace-operator',
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      // A server that stops answering must not hold a reconcile forever.
      query_timeout: 30_000,
    });
    // An idle connection that breaks (server restart) is dropped from the pool; the next query reconnects.
    this.pool.on('error', (err) =>
      opts.log.warn({ err: errorMessage(err) }, 'idle PostgreSQL connection failed'),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private count(op: Operation): void {
    this.opts.metrics.sqlStatements.inc({ operation: op });
  }

  /** One round trip; errors become OperatorError code Database with PostgreSQL's message (never the statement). */
  private async run(
    client: pg.PoolClient | pg.Pool,
    op: Operation,
    sql: string,
    values?: unknown[],
  ): Promise<pg.QueryResult> {
    const reason = this.opts.fence?.();
    if (reason) throw new OperatorError('Database', `PostgreSQL ${op} not sent: ${reason}`);
    this.count(op);
    try {
      return await client.query(sql, values);
    } catch (err) {
      throw new OperatorError('Database', `PostgreSQL ${op} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  private async transaction<T>(
    op: Operation,
    silent: boolean,
    body: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new OperatorError('Database', `PostgreSQL is unreachable: ${errorMessage(err)}`, { cause: err });
    }
    let broken = false;
    try {
      // log_statement is read when a statement arrives, so it must be off before the password-bearing one is sent.
      await this.run(
        client,
        op,
        silent && this.canSilenceLog
          ? "BEGIN; SET LOCAL log_statement = 'none'; SET LOCAL log_min_error_statement = 'panic'"
          : 'BEGIN',
      );
      const result = await body(client);
      await this.run(client, op, 'COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.run(this.pool, 'ping', 'SELECT 1');
  }

  /**
   * Once per start: the NOLOGIN group role that holds CONNECT (granting CONNECT to each tenant rewrites one
   * catalog row per grant and slows with every tenant; membership in one group does not), and the database
   * locked down so that tenants reach nothing but their own schema.
   */
  async bootstrap(): Promise<void> {
    const { tenantGroup, databaseName } = this.opts;
    await this.transaction('bootstrap', false, async (c) => {
      await this.run(
        c,
        'bootstrap',
        `SELECT pg_advisory_xact_lock(hashtextextended('workspace-operator:bootstrap', 0))`,
      );
      await this.run(
        c,
        'bootstrap',
        `DO $wsop$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(tenantGroup)}) THEN
             CREATE ROLE ${ident(tenantGroup)} NOLOGIN;
           END IF;
         END $wsop$;
         GRANT CONNECT ON DATABASE ${ident(databaseName)} TO ${ident(tenantGroup)};
         REVOKE CONNECT, TEMPORARY ON DATABASE ${ident(databaseName)} FROM PUBLIC;
         REVOKE ALL ON SCHEMA public FROM PUBLIC`,
      );
    });
    const caps = await this.run(
      this.pool,
      'bootstrap',
      `SELECT r.rolsuper OR (current_setting('server_version_num')::int >= 150000
                AND has_parameter_privilege('log_statement', 'SET')
                AND has_parameter_privilege('log_min_error_statement', 'SET')) AS silence
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
    );
    this.canSilenceLog = caps.rows[0]?.silence === true;
    if (!this.canSilenceLog) {
      this.opts.log.warn(
        'the database role may not set log_statement: statements carrying password verifiers can reach the server log; GRANT SET ON PARAMETER log_statement, log_min_error_statement to the operator role',
      );
    }
  }

  /**
   * Creates the tenant's role (a LOGIN member of the tenant group) and its schema, or, when they exist, sets the
   * role's password. Idempotent and safe to run twice at once. Never drops anything.
   */
  async provisionTenant(names: TenantNames, password: string): Promise<void> {
    const verifier = await scramVerifier(password);
    const { tenantGroup, tenantConnectionLimit } = this.opts;
    const role = ident(names.role);
    await this.transaction('provision', true, async (c) => {
      await this.run(
        c,
        'provision',
        `DO $wsop$ BEGIN
           PERFORM pg_advisory_xact_lock(hashtextextended(${literal('tenant:' + names.role)}, 0));
           IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(names.role)}) THEN
             CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
               CONNECTION LIMIT ${tenantConnectionLimit} PASSWORD ${literal(verifier)} IN ROLE ${ident(tenantGroup)};
             GRANT ${role} TO CURRENT_USER;
             ALTER ROLE ${role} SET search_path = ${ident(names.schema)};
           ELSE
             ALTER ROLE ${role} LOGIN PASSWORD ${literal(verifier)};
           END IF;
           CREATE SCHEMA IF NOT EXISTS ${ident(names.schema)} AUTHORIZATION ${role};
         END $wsop$`,
      );
    });
  }

  /** Ends the tenant's sessions and drops its schema (with every table in it) and its role. */
  async dropTenant(names: TenantNames): Promise<void> {
    const role = ident(names.role);
    const exists = `EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(names.role)})`;
    // First, in a transaction of its own: no new logins, and the sessions that exist are ended.
    await this.transaction('drop', false, async (c) => {
      await this.run(
        c,
        'drop',
        `DO $wsop$ BEGIN
           PERFORM pg_advisory_xact_lock(hashtextextended(${literal('tenant:' + names.role)}, 0));
           IF ${exists} THEN
             ALTER ROLE ${role} NOLOGIN;
           END IF;
         END $wsop$`,
      );
    });
    await this.transaction('drop', false, async (c) => {
      await this.run(
        c,
        'drop',
        `DO $wsop$ BEGIN
           PERFORM pg_advisory_xact_lock(hashtextextended(${literal('tenant:' + names.role)}, 0));
           PERFORM pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
             WHERE usename = ${literal(names.role)} AND pid <> pg_backend_pid();
           DROP SCHEMA IF EXISTS ${ident(names.schema)} CASCADE;
           IF ${exists} THEN
             DROP OWNED BY ${role};
             DROP ROLE ${role};
           END IF;
         END $wsop$`,
      );
    });
  }

  /** Every schema and role whose name starts with the operator's prefix, in one round trip. */
  async listTenants(prefix: string): Promise<{ schemas: Set<string>; roles: Set<string> }> {
    const pattern = `${prefix.replace(/_/g, '\\_')}\\_%`;
    const result = await this.run(
      this.pool,
      'inventory',
      `SELECT 's' AS kind, nspname AS name FROM pg_catalog.pg_namespace WHERE nspname LIKE $1
       UNION ALL
       SELECT 'r', rolname FROM pg_catalog.pg_roles WHERE rolname LIKE $1`,
      [pattern],
    );
    const schemas = new Set<string>();
    const roles = new Set<string>();
    for (const row of result.rows as { kind: string; name: string }[])
      (row.kind === 's' ? schemas : roles).add(row.name);
    return { schemas, roles };
  }
}

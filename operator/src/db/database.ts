import pg from 'pg';
import { OperatorError, errorMessage } from '../errors.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { TenantNames } from './names.js';
import { scramVerifier } from './scram.js';
import { READY_CREATORS_SQL, asCreator, creatorNames, setUpCreator } from './creators.js';
import { span, tracingOn } from '../tracing.js';
import {
  CONNECTION_FACTS_SQL,
  OPEN_DATABASES_SQL,
  connectionSizing,
  revokeConnect,
  sharedDatabasesMessage,
  type ConnectionFacts,
  type OpenDatabase,
} from './server.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

export type Operation = 'bootstrap' | 'provision' | 'drop' | 'inventory' | 'ping' | 'query';

/** The operator's own schema: only its role has any privilege on it, so no tenant can name, read or lock it. */
export const OPERATOR_SCHEMA = 'workspace_operator';
const LOCKS = `${ident(OPERATOR_SCHEMA)}.locks`;
/** A row per leader Lease: the fencing epoch of the replica that leads the tenant DDL now (see Database.lead). */
const LEADER = `${ident(OPERATOR_SCHEMA)}.leader`;
const BOOTSTRAP_KEY = 'bootstrap';
const tenantKey = (names: TenantNames) => `tenant:${names.role}`;

/** What the pool and the tenant DDL need of the configuration (`Config['database']` has it all). */
export type DatabaseSettings = Pick<
  Config['database'],
  | 'url'
  | 'poolSize'
  | 'databaseName'
  | 'tenantGroup'
  | 'tenantConnectionLimit'
  | 'tenantStatementTimeoutMs'
  | 'tenantIdleInTransactionTimeoutMs'
  | 'statementTimeoutMs'
  | 'lockTimeoutMs'
  | 'idleInTransactionTimeoutMs'
  | 'allowSharedDatabases'
>;

export interface DatabaseOptions extends DatabaseSettings {
  log: Logger;
  metrics: Metrics;
  /** A check before every statement: a reason refuses it (a leader that cannot be sure of its Lease any more). */
  fence?: () => string | undefined;
}

/**
 * What a leading replica gives `Database.lead`: the Lease it won (namespace/name: installs with Leases of their
 * own have fences of their own), its name, and what to do when another replica fenced it off.
 */
export interface Leadership {
  lease: string;
  identity: string;
  onFenced(reason: string): void;
}

/** The result of the last statement of a simple query (pg answers one result, or an array for several). */
function lastResult(result: pg.QueryResult | pg.QueryResult[]): pg.QueryResult {
  return Array.isArray(result) ? (result[result.length - 1] as pg.QueryResult) : result;
}

/**
 * Whether a client that failed can serve the next transaction: after an ERROR the server rolls back and the
 * session is fine; after a FATAL, a broken socket or a client-side timeout (the server may still be running the
 * statement) it is not, and is destroyed.
 */
function sessionSurvives(err: unknown): boolean {
  const cause = err instanceof OperatorError ? err.cause : err;
  return cause instanceof pg.DatabaseError && cause.severity === 'ERROR';
}

/**
 * Serializes on one row of the operator's lock table, created when absent. A row lock, not an advisory lock:
 * advisory lock keys are shared by every session of the database, tenants included, and a key a tenant can
 * compute is a lock a tenant can hold (SPEC 4a). Nobody but the operator can reach this table.
 */
const lockRow = (key: string) =>
  `INSERT INTO ${LOCKS} AS l (name) VALUES (${literal(key)})
     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name`;

/**
 * Makes the operator a member of the tenant's role for the rest of the transaction: creating a schema owned by
 * the role, ending the role's sessions, dropping what the role owns and dropping a schema with the objects the
 * tenant made in it all need the role's privileges. The membership never outlives the transaction: provisioning
 * revokes it before the commit, dropping the role removes it, and a transaction that fails takes it back with
 * everything else. A role that is a member of every tenant role makes PostgreSQL recompute the long list of its
 * memberships after every change to pg_auth_members (each tenant's creation is one), so each provisioning cost
 * grew with the tenants that existed: 4.2 ms at 0 and 31 ms at 3,000 (issue 12).
 *
 * On 16 and newer the grant is a second one beside the ADMIN grant a CREATEROLE creator always receives (it lets
 * the operator alter and drop the role, not act as it), and the REVOKE leaves that one alone. Those ADMIN grants
 * are memberships too, and PostgreSQL's ADMIN checks walk all of them, so there a CREATEROLE operator's DDL still
 * slows as tenants accumulate; a superuser operator holds none (README, Known limits).
 */
const borrowMembership = (role: string) => `GRANT ${role} TO CURRENT_USER`;

/**
 * The objects of a tenant's schema (the schema itself, its relations, routines and types) owned by another role
 * than the tenant's, one `ALTER … OWNER TO` statement each. Provisioning never leaves any; a restore does: a
 * database dump restored onto a new server, where the tenant roles do not exist yet (they are server-global and a
 * dump of the database does not carry them), leaves everything owned by the role that restored it
 * (docs/backup.md). Indexes, a table's row type and the sequences a column owns follow their table, so they are
 * not listed; the statements are ordered so that tables come before what might depend on them.
 */
const ownerRepairs = (names: TenantNames) => {
  const schema = literal(names.schema);
  const role = literal(names.role);
  const owner = `(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ${role})`;
  const space = `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${schema})`;
  return `SELECT 0 AS rank, format('ALTER SCHEMA %I OWNER TO %I', ${schema}, ${role}) AS statement
            FROM pg_catalog.pg_namespace WHERE nspname = ${schema} AND nspowner <> ${owner}
          UNION ALL
          SELECT 1, format('ALTER %s %I.%I OWNER TO %I',
                   CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                   ${schema}, c.relname, ${role})
            FROM pg_catalog.pg_class c
           WHERE c.relnamespace = ${space} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relowner <> ${owner}
             AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i'))
          UNION ALL
          SELECT 2, format('ALTER %s %s OWNER TO %I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                   t.oid::regtype, ${role})
            FROM pg_catalog.pg_type t
           WHERE t.typnamespace = ${space} AND t.typowner <> ${owner} AND t.typtype IN ('c', 'd', 'e', 'r')
             AND (t.typrelid = 0 OR (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c')
          UNION ALL
          SELECT 3, format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, ${role})
            FROM pg_catalog.pg_proc p WHERE p.pronamespace = ${space} AND p.proowner <> ${owner}`;
};

/** Whether anything of the tenant's schema is owned by another role (see ownerRepairs). */
const foreignOwned = (names: TenantNames) => `SELECT FROM (${ownerRepairs(names)}) AS repairs`;

/** Gives the tenant's role back what its schema holds (see ownerRepairs); the operator must own it. */
const giveBack = (names: TenantNames) =>
  `DECLARE repair record; BEGIN
     FOR repair IN SELECT statement FROM (${ownerRepairs(names)}) AS repairs ORDER BY rank LOOP
       EXECUTE repair.statement;
     END LOOP;
   END`;

const roleSetting = (role: string, name: string, ms: number) =>
  ms > 0 ? `ALTER ROLE ${role} SET ${name} = ${literal(`${ms}ms`)}` : `ALTER ROLE ${role} RESET ${name}`;

/**
 * The operator's side of PostgreSQL: one pool, and the statements that provision, rotate and drop tenants. Every
 * identifier is quoted; tenant DDL locks the tenant's row in the operator's own lock table, so that two replicas
 * running it at once (leader election narrows that window but cannot close it) serialize instead of failing on a
 * duplicate role or schema.
 *
 * Every session of the pool carries statement_timeout, lock_timeout and idle_in_transaction_session_timeout, so
 * whatever a tenant holds, an operator statement ends on the server, not only in this process.
 *
 * Passwords: only a SCRAM verifier computed here reaches the server, and where the operator may, it turns
 * statement logging off for the transaction that carries it.
 */
export class Database {
  private readonly pool: pg.Pool;
  private canSilenceLog = false;
  /** The roles tenant roles are created through (creators.ts); none on 15, for a superuser, or when not set up. */
  private creators: readonly string[] = [];
  private leadership: Leadership | undefined;
  private epoch: Promise<number> | undefined;
  private answered: boolean | undefined;
  private readonly reachabilityListeners: ((answering: boolean) => void)[] = [];

  constructor(private readonly opts: DatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize,
      application_name: 'workspace-operator',
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: opts.statementTimeoutMs,
      lock_timeout: opts.lockTimeoutMs,
      idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs,
      // A server that stops answering must not hold a reconcile forever; the server's own timeout comes first.
      query_timeout: opts.statementTimeoutMs + 5_000,
    });
    // An idle connection that breaks (server restart) is dropped from the pool; the next query reconnects.
    this.pool.on('error', (err) =>
      opts.log.warn({ err: errorMessage(err) }, 'idle PostgreSQL connection failed'),
    );
    // The pool listens for errors of idle clients only, and stops before it hands a client out: a session the
    // server ends at that moment (its FATAL can arrive in the same packet as the end of the log-in) would be an
    // 'error' nobody hears, which ends the process. Every client therefore has a listener for its whole life; a
    // client that failed is unusable (pg marks it so) and the transaction that holds it destroys it.
    this.pool.on('connect', (client) => {
      client.on('error', (err) => opts.log.debug({ err: errorMessage(err) }, 'PostgreSQL connection failed'));
    });
    opts.metrics.trackPool(() => ({
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      max: opts.poolSize,
    }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Tells `listener` whenever what the last statement sent learned of PostgreSQL changes: it answered (an ERROR is
   * an answer) or it did not (a refused, broken or timed-out connection). Known from the traffic the operator
   * sends anyway.
   */
  onReachability(listener: (answering: boolean) => void): void {
    this.reachabilityListeners.push(listener);
  }

  private heard(answering: boolean): void {
    if (this.answered === answering) return;
    this.answered = answering;
    for (const listener of this.reachabilityListeners) listener(answering);
  }

  private count(op: Operation): void {
    this.opts.metrics.sqlStatements.inc({ operation: op });
  }

  /** One round trip; errors become OperatorError code Database with PostgreSQL's message (never the statement). */
  private run(
    client: pg.PoolClient | pg.Pool,
    op: Operation,
    sql: string,
    values?: unknown[],
  ): Promise<pg.QueryResult> {
    if (!tracingOn()) return this.send(client, op, sql, values);
    // The operation's name only: statements carry password verifiers, so their text never reaches a span.
    return span(
      `postgresql ${op}`,
      { 'db.system.name': 'postgresql', 'db.operation.name': op },
      () => this.send(client, op, sql, values),
      'client',
    );
  }

  private async send(
    client: pg.PoolClient | pg.Pool,
    op: Operation,
    sql: string,
    values: unknown[] | undefined,
  ): Promise<pg.QueryResult> {
    const reason = this.opts.fence?.();
    if (reason) throw new OperatorError('Database', `PostgreSQL ${op} not sent: ${reason}`);
    this.count(op);
    try {
      const result = await client.query(sql, values);
      this.heard(true);
      return result;
    } catch (err) {
      this.heard(sessionSurvives(err));
      throw new OperatorError('Database', `PostgreSQL ${op} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  private transaction<T>(
    op: Operation,
    silent: boolean,
    body: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    if (!tracingOn()) return this.transact(op, silent, body);
    return span(
      `postgresql ${op} transaction`,
      { 'db.system.name': 'postgresql', 'db.operation.name': op },
      () => this.transact(op, silent, body),
    );
  }

  private async transact<T>(
    op: Operation,
    silent: boolean,
    body: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    // Tenant DDL of a leading replica runs under its fencing epoch, taken before its first such transaction.
    const epoch =
      this.leadership && (op === 'provision' || op === 'drop') ? await this.takeEpoch() : undefined;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.heard(false);
      throw new OperatorError('Database', `PostgreSQL is unreachable: ${errorMessage(err)}`, { cause: err });
    }
    // A session the server ends between two statements (shutdown, pg_terminate_backend) emits 'error': the
    // client is then destroyed, not returned to the pool.
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken ??= err;
      this.opts.log.warn({ err: errorMessage(err), operation: op }, 'PostgreSQL session failed');
    };
    client.on('error', onError);
    try {
      // log_statement is read when a statement arrives, so it must be off before the password-bearing one is sent.
      // The fence is read in the same round trip (a simple query of several statements; the lease is a literal).
      const begin = [
        'BEGIN',
        ...(silent && this.canSilenceLog
          ? ["SET LOCAL log_statement = 'none'", "SET LOCAL log_min_error_statement = 'panic'"]
          : []),
        ...(epoch !== undefined ? [this.fenceQuery(client)] : []),
      ];
      const opened = await this.run(client, op, begin.join('; '));
      if (epoch !== undefined) this.checkFence(lastResult(opened), op, epoch);
      const result = await body(client);
      await this.run(client, op, 'COMMIT');
      return result;
    } catch (err) {
      if (broken === undefined && sessionSurvives(err)) {
        try {
          await client.query('ROLLBACK');
        } catch (rollback) {
          broken = rollback instanceof Error ? rollback : new Error(String(rollback));
        }
      } else broken ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * Server-side fencing for the tenant DDL of a replica that won leader election. The Lease alone cannot stop a
   * leader that was paused (SIGSTOP, a long GC, a frozen VM) between checking its Lease and sending a statement:
   * when it resumes, another replica leads. So the database keeps an epoch: before its first tenant DDL, a new
   * leader raises it (waiting for the transactions still running under the old one), and every tenant DDL
   * transaction reads it with a share lock and goes on only when it is its own. Once a newer leader has raised it,
   * an older one's transactions fail before they change anything, and `onFenced` is told.
   */
  lead(leadership: Leadership): void {
    this.leadership = leadership;
    this.epoch = undefined;
  }

  /** The epoch this replica leads under, raising it once; a failed attempt is tried again by the next call. */
  private takeEpoch(): Promise<number> {
    this.epoch ??= this.raiseEpoch().catch((err: unknown) => {
      this.epoch = undefined;
      throw err;
    });
    return this.epoch;
  }

  private async raiseEpoch(): Promise<number> {
    const { lease = '', identity: holder = '' } = this.leadership ?? {};
    const epoch = await this.transaction('bootstrap', false, async (c) => {
      const result = await this.run(
        c,
        'bootstrap',
        `INSERT INTO ${LEADER} AS l (lease, epoch, holder) VALUES ($1, 1, $2)
           ON CONFLICT (lease) DO UPDATE SET epoch = l.epoch + 1, holder = EXCLUDED.holder, since = now()
         RETURNING epoch`,
        [lease, holder],
      );
      return Number((result.rows[0] as { epoch: string }).epoch);
    });
    this.opts.log.info({ lease, epoch, identity: holder }, 'took the database fence for tenant DDL');
    return epoch;
  }

  /** The fence's row, read with a share lock that holds off a newer leader's raise until this transaction ends. */
  private fenceQuery(c: pg.PoolClient): string {
    return `SELECT epoch, holder FROM ${LEADER} WHERE lease = ${c.escapeLiteral(this.leadership?.lease ?? '')} FOR SHARE`;
  }

  /** Refuses the transaction unless `epoch` is still the newest (see fenceQuery). */
  private checkFence(result: pg.QueryResult, op: Operation, epoch: number): void {
    const row = result.rows[0] as { epoch: string; holder: string } | undefined;
    if (row !== undefined && Number(row.epoch) === epoch) return;
    const reason = `replica ${row?.holder ?? '(unknown)'} leads the tenant DDL now (fence ${row?.epoch ?? '?'}, this replica's ${epoch})`;
    this.leadership?.onFenced(reason);
    throw new OperatorError('Unavailable', `PostgreSQL ${op} not sent: ${reason}`);
  }

  async ping(): Promise<void> {
    await this.run(this.pool, 'ping', 'SELECT 1');
  }

  /** The server's version as it reports it (`16.4 (Debian 16.4-1)`), which also proves it answers. */
  async serverVersion(): Promise<string> {
    const result = await this.run(this.pool, 'ping', 'SHOW server_version');
    return String((result.rows[0] as { server_version?: unknown } | undefined)?.server_version ?? '');
  }

  /**
   * Once per start: the operator's lock table; the NOLOGIN group role that holds CONNECT (granting CONNECT to each
   * tenant rewrites one catalog row per grant and slows with every tenant; membership in one group does not); the
   * database locked down so that tenants reach nothing but their own schema; no other database of the server
   * open to them (refused unless DATABASE_ALLOW_SHARED_DATABASES); and the connection sizing logged.
   */
  async bootstrap(): Promise<void> {
    const { tenantGroup, databaseName } = this.opts;
    await this.createLockTable();
    let creators: string[] = [];
    const refusal = await this.transaction('bootstrap', false, async (c) => {
      await this.run(c, 'bootstrap', lockRow(BOOTSTRAP_KEY));
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
         REVOKE TEMPORARY ON DATABASE ${ident(databaseName)} FROM ${ident(tenantGroup)};
         REVOKE ALL ON SCHEMA public FROM PUBLIC;
         REVOKE ALL ON SCHEMA ${ident(OPERATOR_SCHEMA)} FROM PUBLIC`,
      );
      await this.revokeLeftoverMemberships(c);
      creators = await this.setUpCreators(c);
      return this.closeOtherDatabases(c);
    });
    this.creators = creators;
    // Thrown once the transaction committed, so that what it could close stays closed.
    if (refusal !== undefined) throw new OperatorError('Config', refusal);
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
    await this.checkConnectionSizing();
  }

  /**
   * The lock table and the leader fence, in a schema of the operator's own that no other role has any privilege on. Nothing ever
   * takes a table lock on it stronger than a row lock's, so even the ACCESS SHARE lock any role can take on any
   * table by its OID (pg_relation_size) blocks nothing. When it exists (every start but the first) no DDL is sent.
   */
  private async createLockTable(): Promise<void> {
    const found = await this.run(
      this.pool,
      'bootstrap',
      `SELECT n.nspowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user) AS mine,
              pg_catalog.to_regclass(${literal(LOCKS)}) IS NOT NULL
                AND pg_catalog.to_regclass(${literal(LEADER)}) IS NOT NULL AS ready
         FROM pg_catalog.pg_namespace n WHERE n.nspname = ${literal(OPERATOR_SCHEMA)}`,
    );
    const row = found.rows[0] as { mine: boolean; ready: boolean } | undefined;
    if (row && !row.mine) {
      throw new OperatorError(
        'Config',
        `schema ${OPERATOR_SCHEMA} exists and belongs to another role: the operator keeps its locks there and must own it`,
      );
    }
    if (row?.ready) return;
    // Two replicas starting at once may both create it: the loser's unique violation means it exists now.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.transaction('bootstrap', false, async (c) => {
          await this.run(
            c,
            'bootstrap',
            `CREATE SCHEMA IF NOT EXISTS ${ident(OPERATOR_SCHEMA)};
             CREATE TABLE IF NOT EXISTS ${LOCKS} (name text PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS ${LEADER} (
               lease text PRIMARY KEY,
               epoch bigint NOT NULL,
               holder text NOT NULL,
               since timestamptz NOT NULL DEFAULT now())`,
          );
        });
        return;
      } catch (err) {
        const code =
          err instanceof OperatorError && err.cause instanceof pg.DatabaseError ? err.cause.code : '';
        if (attempt >= 3 || !['23505', '42P06', '42P07', '42710'].includes(code ?? '')) throw err;
      }
    }
  }

  /**
   * Before issue 12 the operator's role kept a membership in every tenant role it provisioned, which made every
   * later provisioning slower (see borrowMembership); those memberships are revoked here, in statements of a few
   * hundred roles. Idempotent, and one query when there is nothing to revoke. On 16 and newer only the grants the
   * operator made itself go, never the ADMIN grant PostgreSQL gives the creator of a role, and never the creators.
   */
  private async revokeLeftoverMemberships(c: pg.PoolClient): Promise<void> {
    const { rows } = await this.run(
      c,
      'bootstrap',
      `SELECT t.rolname AS name
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles t ON t.oid = m.roleid
        WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
          AND (m.grantor = m.member OR current_setting('server_version_num')::int < 160000)
          AND m.roleid IN (SELECT g.member FROM pg_catalog.pg_auth_members g
                             JOIN pg_catalog.pg_roles r ON r.oid = g.roleid WHERE r.rolname = $1)
          AND t.rolname <> ALL($2)`,
      [this.opts.tenantGroup, creatorNames(this.opts.tenantGroup)],
    );
    const roles = (rows as { name: string }[]).map((r) => ident(r.name));
    for (let i = 0; i < roles.length; i += 500) {
      await this.run(c, 'bootstrap', `REVOKE ${roles.slice(i, i + 500).join(', ')} FROM CURRENT_USER`);
    }
    if (roles.length > 0) {
      this.opts.log.info(
        { roles: roles.length },
        "revoked the operator role's leftover memberships in tenant roles",
      );
    }
  }

  /**
   * On 16 and newer, for an operator that is not superuser: the creator roles tenant roles are made through
   * (creators.ts), set up where a part is missing, so that a start with all of them ready sends no DDL. None when
   * the operator may not grant CREATE on the database (it does not own it) or the tenant group (it did not create
   * it): then it creates tenant roles itself and its tenant DDL slows as tenants accumulate, which it says.
   */
  private async setUpCreators(c: pg.PoolClient): Promise<string[]> {
    const { tenantGroup, databaseName, log } = this.opts;
    const { rows } = await this.run(
      c,
      'bootstrap',
      `SELECT current_setting('server_version_num')::int >= 160000 AND NOT r.rolsuper AS wanted,
              pg_catalog.has_database_privilege($1, 'CREATE WITH GRANT OPTION')
                AND pg_catalog.pg_has_role($2, 'MEMBER WITH ADMIN OPTION') AS able
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
      [databaseName, tenantGroup],
    );
    const { wanted, able } = rows[0] as { wanted: boolean; able: boolean };
    if (!wanted) return [];
    if (!able) {
      log.warn(
        { database: databaseName },
        'the operator role may not grant CREATE on the database (it does not own it) or membership in the tenant group (another role created it): tenant roles are created by the operator role itself, and on PostgreSQL 16 and newer its tenant DDL slows as tenants accumulate',
      );
      return [];
    }
    const names = creatorNames(tenantGroup);
    const ready = new Set(
      (
        (
          await this.run(c, 'bootstrap', READY_CREATORS_SQL, [
            names,
            tenantGroup,
            databaseName,
            OPERATOR_SCHEMA,
          ])
        ).rows as {
          name: string;
        }[]
      ).map((r) => r.name),
    );
    const missing = names.filter((n) => !ready.has(n));
    if (missing.length > 0) {
      await this.run(
        c,
        'bootstrap',
        missing.map((n) => setUpCreator(n, tenantGroup, databaseName, OPERATOR_SCHEMA)).join(';\n'),
      );
      log.info({ creators: missing.length }, 'set up the roles tenant roles are created through');
    }
    return names;
  }

  /**
   * Tenants must reach their own database alone: PUBLIC's CONNECT is revoked on every other database the
   * operator owns; where one it cannot change stays open (postgres and template1 on a stock server), it refuses
   * to start with the statements that fix it, unless told to go on. Returns the refusal.
   */
  private async closeOtherDatabases(c: pg.PoolClient): Promise<string | undefined> {
    const { tenantGroup, log } = this.opts;
    const open = async () =>
      (await this.run(c, 'bootstrap', OPEN_DATABASES_SQL, [tenantGroup])).rows as OpenDatabase[];
    const first = await open();
    const closable = first.filter((d) => d.mine && d.public);
    for (const d of closable) {
      await this.run(c, 'bootstrap', revokeConnect(d, tenantGroup));
      log.warn(
        { database: d.name },
        'revoked CONNECT and TEMPORARY from PUBLIC on another database the operator owns',
      );
    }
    const left = closable.length > 0 ? await open() : first;
    if (left.length === 0) return undefined;
    const message = sharedDatabasesMessage(left, tenantGroup);
    if (!this.opts.allowSharedDatabases) return message;
    log.warn(
      { databases: left.map((d) => d.name) },
      `${message} (allowed by DATABASE_ALLOW_SHARED_DATABASES)`,
    );
    return undefined;
  }

  /** Logs what max_connections means for the tenants that exist, and grants the operator reserved slots if it may. */
  private async checkConnectionSizing(): Promise<void> {
    const { tenantGroup, tenantConnectionLimit, poolSize, log } = this.opts;
    const read = async () =>
      (await this.run(this.pool, 'bootstrap', CONNECTION_FACTS_SQL, [tenantGroup]))
        .rows[0] as ConnectionFacts;
    let facts = await read();
    if (facts.version >= 160000 && !facts.operatorReserved && facts.operatorMayReserve) {
      await this.run(this.pool, 'bootstrap', 'GRANT pg_use_reserved_connections TO CURRENT_USER');
      facts = await read();
    }
    const sizing = connectionSizing(facts, tenantConnectionLimit, poolSize);
    if (sizing.exhaustible) log.warn(sizing, 'PostgreSQL connection sizing');
    else log.info(sizing, 'PostgreSQL connection sizing');
  }

  /**
   * PL/pgSQL statements on the tenant's role, run as its creator when that creator holds the role's ADMIN grant or,
   * `creating`, when the role does not exist yet (creators.ts).
   */
  private asCreator(names: TenantNames, body: string, creating = false): string {
    return asCreator(this.creators, OPERATOR_SCHEMA, names.role, creating, body);
  }

  /** One statement on an existing tenant role, as its creator when it has one (see asCreator). */
  private statementAsCreator(names: TenantNames, statement: string): string {
    return this.creators.length === 0
      ? statement
      : `DO $wsop$ BEGIN ${this.asCreator(names, `${statement};`)} END $wsop$`;
  }

  /**
   * Creates the tenant's role (a LOGIN member of the tenant group) and its schema, or, when they exist, sets the
   * role's password. Either way the role's limits are set to the configured ones. Idempotent and safe to run
   * twice at once. Never drops anything.
   */
  async provisionTenant(names: TenantNames, password: string): Promise<void> {
    const verifier = await scramVerifier(password);
    const { tenantGroup, tenantConnectionLimit: limit } = this.opts;
    const role = ident(names.role);
    await this.transaction('provision', true, async (c) => {
      await this.run(
        c,
        'provision',
        `DO $wsop$ DECLARE existed boolean; BEGIN
           ${lockRow(tenantKey(names))};
           existed := EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = ${literal(names.schema)});
           ${this.asCreator(
             names,
             `IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(names.role)}) THEN
                CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
                  CONNECTION LIMIT ${limit} PASSWORD ${literal(verifier)} IN ROLE ${ident(tenantGroup)};
                ALTER ROLE ${role} SET search_path = ${ident(names.schema)};
              ELSE
                ALTER ROLE ${role} LOGIN CONNECTION LIMIT ${limit} PASSWORD ${literal(verifier)};
              END IF;
              ${roleSetting(role, 'statement_timeout', this.opts.tenantStatementTimeoutMs)};
              ${roleSetting(role, 'idle_in_transaction_session_timeout', this.opts.tenantIdleInTransactionTimeoutMs)};
              IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = ${literal(names.schema)}) THEN
                ${borrowMembership(role)};
                CREATE SCHEMA ${ident(names.schema)} AUTHORIZATION ${role};
                REVOKE ${role} FROM CURRENT_USER;
              END IF;`,
             true,
           )}
           -- What a restore left is the operator's own, so the operator gives it away (its owner alone may).
           IF existed AND EXISTS (${foreignOwned(names)}) THEN
             ${borrowMembership(role)};
             ${giveBack(names)};
             REVOKE ${role} FROM CURRENT_USER;
           END IF;
         END $wsop$`,
      );
    });
  }

  /**
   * Ends the tenant's sessions and drops its schema (with everything in it) and its role. Whatever a session of
   * the tenant holds (locks on its tables, its own role's row in an open ALTER ROLE), the session is terminated
   * first and waited for, so the drop does not queue behind it; lock_timeout bounds any wait that is left.
   */
  async dropTenant(names: TenantNames): Promise<void> {
    const role = ident(names.role);
    const exists = `EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(names.role)})`;
    const terminate = `PERFORM pg_catalog.pg_terminate_backend(pid, ${this.opts.lockTimeoutMs})
             FROM pg_catalog.pg_stat_activity
            WHERE usename = ${literal(names.role)} AND pid <> pg_catalog.pg_backend_pid()`;
    // First, in a transaction of its own: no new logins, and the sessions that exist are ended.
    await this.transaction('drop', false, async (c) => {
      await this.run(
        c,
        'drop',
        `DO $wsop$ BEGIN
           ${lockRow(tenantKey(names))};
           IF ${exists} THEN
             ${this.asCreator(
               names,
               `${borrowMembership(role)};
                ${terminate};
                ALTER ROLE ${role} NOLOGIN;
                REVOKE ${role} FROM CURRENT_USER;`,
             )}
           END IF;
         END $wsop$`,
      );
    });
    await this.transaction('drop', false, async (c) => {
      await this.run(
        c,
        'drop',
        `DO $wsop$ BEGIN
           ${lockRow(tenantKey(names))};
           IF ${exists} THEN
             ${this.asCreator(
               names,
               `${borrowMembership(role)};
                ${terminate};
                DROP SCHEMA IF EXISTS ${ident(names.schema)} CASCADE;
                DROP OWNED BY ${role};
                DROP ROLE ${role};`,
             )}
           ELSE
             DROP SCHEMA IF EXISTS ${ident(names.schema)} CASCADE;
           END IF;
           DELETE FROM ${LOCKS} WHERE name = ${literal(tenantKey(names))};
         END $wsop$`,
      );
    });
  }

  /**
   * A move's switch-over begins: the tenant can log in no more, and its sessions are ended and waited for, so no
   * write of the client reaches this server after it returns. `resumeTenant` undoes it (a move rolled back).
   */
  async suspendTenant(names: TenantNames): Promise<void> {
    const role = ident(names.role);
    // NOLOGIN commits first: a session ended while it was still uncommitted could log in again at once.
    await this.transaction('provision', false, async (c) => {
      await this.run(c, 'provision', lockRow(tenantKey(names)));
      await this.run(c, 'provision', this.statementAsCreator(names, `ALTER ROLE ${role} NOLOGIN`));
    });
    await this.transaction('provision', false, async (c) => {
      await this.run(
        c,
        'provision',
        `DO $wsop$ BEGIN
           ${this.asCreator(
             names,
             `${borrowMembership(role)};
              PERFORM pg_catalog.pg_terminate_backend(pid, ${this.opts.lockTimeoutMs})
                 FROM pg_catalog.pg_stat_activity
                WHERE usename = ${literal(names.role)} AND pid <> pg_catalog.pg_backend_pid();
              REVOKE ${role} FROM CURRENT_USER;`,
           )}
         END $wsop$`,
      );
    });
  }

  async resumeTenant(names: TenantNames): Promise<void> {
    await this.transaction('provision', false, async (c) => {
      await this.run(c, 'provision', lockRow(tenantKey(names)));
      await this.run(c, 'provision', this.statementAsCreator(names, `ALTER ROLE ${ident(names.role)} LOGIN`));
    });
  }

  /**
   * Lends the operator's role the tenant's privileges outside a transaction, for the dump and restore of a move
   * (they run as the tenant through `--role`/`SET ROLE`); `false` takes it back. Nothing else holds it meanwhile.
   */
  async lendTenant(names: TenantNames, lend: boolean): Promise<void> {
    const role = ident(names.role);
    await this.transaction('provision', false, async (c) => {
      // To the operator's login role (SESSION_USER), which pg_dump and pg_restore connect as.
      const statement = lend ? `GRANT ${role} TO SESSION_USER` : `REVOKE ${role} FROM SESSION_USER`;
      await this.run(c, 'provision', this.statementAsCreator(names, statement));
    });
  }

  /**
   * Rows per table of the tenant's schema, read as the tenant: what a move checks on both sides. The session's
   * role is made a member of the tenant's for the read (SET ROLE asks whether the session's user may become it),
   * unless a lend (lendTenant) already made it one, and stops being one after.
   */
  async tableRows(names: TenantNames): Promise<Map<string, number>> {
    const role = ident(names.role);
    return this.transaction('query', false, async (c) => {
      const { rows } = await this.run(
        c,
        'query',
        `SELECT EXISTS (SELECT FROM pg_catalog.pg_auth_members m
                         WHERE m.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
                           AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user)
                           AND NOT m.admin_option) AS lent`,
        [names.role],
      );
      const lent = (rows[0] as { lent: boolean } | undefined)?.lent === true;
      if (!lent) await this.run(c, 'query', this.statementAsCreator(names, `GRANT ${role} TO SESSION_USER`));
      await this.run(c, 'query', `SET LOCAL ROLE ${role}`);
      const result = await this.run(
        c,
        'query',
        `SELECT c.relname AS name,
                (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint AS n
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
        [names.schema],
      );
      await this.run(c, 'query', 'RESET ROLE');
      if (!lent)
        await this.run(c, 'query', this.statementAsCreator(names, `REVOKE ${role} FROM SESSION_USER`));
      return new Map((result.rows as { name: string; n: string }[]).map((r) => [r.name, Number(r.n)]));
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

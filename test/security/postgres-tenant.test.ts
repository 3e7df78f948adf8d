import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OPERATOR_SCHEMA, type Database } from '../../operator/src/db/database.js';
import { tenantNames, type TenantNames } from '../../operator/src/db/names.js';
import { newPassword } from '../../operator/src/db/scram.js';
import { isCode } from '../../operator/src/errors.js';
import { rejection, uniqueName } from '../support/env.js';
import { inDatabase, loginFailure, openDatabase, privilegedUrl, urlAs, withClient } from '../db/support.js';

/**
 * A workspace's database login used against everyone else (issue 9 item 5, SPEC 4b). Each test logs in as a
 * tenant with the credentials the operator gave it and attacks: the operator's locks, its lock table, other
 * databases, other tenants. The operator's calls must complete (or fail and retry, never wait) whatever the
 * tenant holds.
 */

const account = uniqueName('sec');
const names = (slug: string): TenantNames => tenantNames('ws', account, slug);
const open: pg.Client[] = [];
let db: Database;

/** A session kept open across operator calls; a session the operator terminates fails its next query. */
async function session(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  open.push(client);
  return client;
}

async function tenant(slug: string): Promise<{ n: TenantNames; password: string; url: string }> {
  const n = names(slug);
  const password = newPassword();
  await db.provisionTenant(n, password);
  return { n, password, url: urlAs(inject('databaseUrl'), n.role, password) };
}

/** Bounds a call that, broken, would wait forever: the test fails saying what hung instead of timing out. */
async function within<T>(what: string, call: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not complete within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Operator sessions (by application name) that wait on a lock, as the superuser sees them. */
async function operatorSessionsWaiting(): Promise<number> {
  return withClient(privilegedUrl(), async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity
        WHERE application_name = 'workspace-operator' AND state = 'active' AND wait_event_type = 'Lock'`,
    );
    return rows[0]?.n ?? -1;
  });
}

async function roleAndSchemaExist(n: TenantNames): Promise<boolean[]> {
  return withClient(privilegedUrl(), async (c) => {
    const { rows } = await c.query<{ role: boolean; schema: boolean }>(
      `SELECT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = $1) AS role,
              EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schema`,
      [n.role, n.schema],
    );
    return [rows[0]?.role ?? true, rows[0]?.schema ?? true];
  });
}

beforeAll(async () => {
  db = openDatabase();
  await db.bootstrap();
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => {})));
  await db.close();
});

describe("a tenant against the operator's locks", () => {
  it('holds every advisory lock key the operator ever used, and provisioning, rotation, drop and bootstrap all complete', async () => {
    const attacker = await tenant('attacker');
    const victim = names('victim');
    const fresh = names('fresh');
    const s = await session(attacker.url);
    // The keys the operator computed before it used row locks: any tenant could compute them too.
    for (const key of [
      'workspace-operator:bootstrap',
      `tenant:${victim.role}`,
      `tenant:${fresh.role}`,
      `tenant:${attacker.n.role}`,
    ]) {
      await s.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
    }
    await s.query('BEGIN');
    await s.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tenant:${victim.role}`]);

    const other = openDatabase();
    try {
      await within('bootstrap of a restarting replica', other.bootstrap());
    } finally {
      await other.close();
    }
    await within('provisioning', db.provisionTenant(victim, newPassword()));
    const rotated = newPassword();
    await within('rotation', db.provisionTenant(victim, rotated));
    expect(await loginFailure(victim.role, rotated)).toBeUndefined();
    await within('provisioning of another tenant', db.provisionTenant(fresh, newPassword()));
    await within('drop', db.dropTenant(victim));
    await within("drop of the attacker's own tenant", db.dropTenant(attacker.n));
    expect(await roleAndSchemaExist(victim)).toEqual([false, false]);
    expect(await roleAndSchemaExist(attacker.n)).toEqual([false, false]);
    await within('provisioning again after the drop', db.provisionTenant(victim, newPassword()));
    expect(await roleAndSchemaExist(victim)).toEqual([true, true]);
    expect(await operatorSessionsWaiting()).toBe(0);
  });

  it("is refused every lock, read and write on the operator's lock table, by name and by OID", async () => {
    const attacker = await tenant('table');
    await withClient(attacker.url, async (c) => {
      const table = `${OPERATOR_SCHEMA}.locks`;
      for (const sql of [
        `LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`,
        `LOCK TABLE ${table} IN ROW SHARE MODE`,
        `SELECT * FROM ${table} FOR UPDATE`,
        `SELECT * FROM ${table}`,
        `INSERT INTO ${table} VALUES ('bootstrap')`,
        `DELETE FROM ${table}`,
      ]) {
        await c.query('BEGIN');
        await expect(c.query(sql), sql).rejects.toThrow(/permission denied/);
        await c.query('ROLLBACK');
      }
      // The catalog gives its OID away, and some functions open any relation by OID: they take and release an
      // ACCESS SHARE lock, which nothing the operator does on that table conflicts with.
      const { rows } = await c.query<{ oid: number }>(
        `SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = 'locks'`,
        [OPERATOR_SCHEMA],
      );
      const oid = rows[0]?.oid;
      expect(oid).toBeDefined();
      await c.query('BEGIN');
      await c.query('SELECT pg_catalog.pg_relation_size($1::oid)', [oid]);
      await within(
        'provisioning while a tenant opened the lock table by OID',
        db.provisionTenant(names('table-2'), newPassword()),
      );
      await within('bootstrap while a tenant opened the lock table by OID', db.bootstrap());
      await c.query('ROLLBACK');
    });
  });
});

describe('a tenant holding locks of its own', () => {
  it('cannot hold up its drop with open transactions on its tables and its role, and leaves no operator session waiting', async () => {
    const victim = await tenant('holder');
    const first = await session(victim.url);
    await first.query('CREATE TABLE notes (body text)');
    await first.query('BEGIN');
    await first.query('LOCK TABLE notes IN ACCESS EXCLUSIVE MODE');
    // Its own pg_authid row, updated in an open transaction: ALTER ROLE … NOLOGIN would wait for it.
    const second = await session(victim.url);
    await second.query('BEGIN');
    await second.query(`ALTER ROLE CURRENT_USER PASSWORD ${pg.escapeLiteral(newPassword())}`);

    await within('drop of a tenant that holds locks', db.dropTenant(victim.n));
    expect(await roleAndSchemaExist(victim.n)).toEqual([false, false]);
    await expect(first.query('SELECT 1')).rejects.toThrow(/terminat|Connection/i);
    await expect(second.query('SELECT 1')).rejects.toThrow(/terminat|Connection/i);
    expect(await operatorSessionsWaiting()).toBe(0);
  });

  it('makes its own rotation fail after the lock timeout with a retryable error, not wait, and it converges once released', async () => {
    const quick = openDatabase(undefined, undefined, { DATABASE_LOCK_TIMEOUT_SECONDS: '1' });
    try {
      const victim = await tenant('rotation');
      const s = await session(victim.url);
      await s.query('BEGIN');
      await s.query(`ALTER ROLE CURRENT_USER PASSWORD ${pg.escapeLiteral(newPassword())}`);
      const err = await within(
        'a blocked rotation',
        rejection(quick.provisionTenant(victim.n, newPassword())),
      );
      expect(isCode(err, 'Database')).toBe(true);
      expect(err.message).toMatch(/lock timeout/);
      expect(await operatorSessionsWaiting()).toBe(0);
      await s.query('ROLLBACK');
      const rotated = newPassword();
      await quick.provisionTenant(victim.n, rotated);
      expect(await loginFailure(victim.n.role, rotated)).toBeUndefined();
    } finally {
      await quick.close();
    }
  });
});

describe('a tenant reaching beyond its schema', () => {
  it('is refused connections to postgres and template1 and temporary tables in its own database', async () => {
    const t = await tenant('doors');
    for (const database of ['postgres', 'template1']) {
      await expect(
        withClient(urlAs(inject('databaseUrl'), t.n.role, t.password, database), (c) => c.query('SELECT 1')),
        database,
      ).rejects.toThrow(/permission denied for database/);
    }
    await withClient(t.url, async (c) => {
      await expect(c.query('CREATE TEMP TABLE scratch (a int)')).rejects.toThrow(
        /permission denied to create temporary tables/,
      );
      await expect(c.query('CREATE TABLE public.scratch (a int)')).rejects.toThrow(/permission denied/);
    });
  });

  it("is refused another tenant's schema, tables and functions, for reading and for writing", async () => {
    const owner = await tenant('owner');
    const intruder = await tenant('intruder');
    await withClient(owner.url, (c) =>
      c.query(`CREATE TABLE secrets (body text); INSERT INTO secrets VALUES ('mine');
               CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'`),
    );
    const schema = pg.escapeIdentifier(owner.n.schema);
    await withClient(intruder.url, async (c) => {
      for (const sql of [
        `SELECT * FROM ${schema}.secrets`,
        `INSERT INTO ${schema}.secrets VALUES ('theirs')`,
        `SELECT ${schema}.answer()`,
        `CREATE TABLE ${schema}.planted (a int)`,
        `LOCK TABLE ${schema}.secrets IN ACCESS SHARE MODE`,
      ]) {
        await c.query('BEGIN');
        await expect(c.query(sql), sql).rejects.toThrow(/permission denied/);
        await c.query('ROLLBACK');
      }
    });
  });

  it('carries the per-role limits the operator sets: connection limit, statement and idle-in-transaction timeouts', async () => {
    const t = await tenant('limits');
    const row = await withClient(privilegedUrl(), async (c) => {
      const { rows } = await c.query<{ limit: number; settings: string[] }>(
        `SELECT r.rolconnlimit AS limit, coalesce(s.setconfig, '{}') AS settings
           FROM pg_catalog.pg_roles r
           LEFT JOIN pg_catalog.pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0
          WHERE r.rolname = $1`,
        [t.n.role],
      );
      return rows[0];
    });
    expect(row?.limit).toBe(5);
    expect(row?.settings).toEqual(
      expect.arrayContaining(['statement_timeout=60000ms', 'idle_in_transaction_session_timeout=60000ms']),
    );
    await withClient(t.url, async (c) => {
      const { rows } = await c.query<{ s: string }>("SELECT current_setting('statement_timeout') AS s");
      expect(rows[0]?.s).toBe('1min');
    });
  });
});

describe('bootstrap and the other databases of the server', () => {
  const admin = () => inDatabase(inject('databaseAdminUrl'), 'postgres');
  const operatorRole = () => decodeURIComponent(new URL(inject('databaseUrl')).username);

  it('revokes CONNECT from PUBLIC on another database the operator owns', async ({ skip }) => {
    if (!inject('databaseAdminUrl')) skip('needs the superuser of the test server');
    const scratch = `sec_owned_${uniqueName('db').replace(/-/g, '_')}`;
    await withClient(admin(), (c) =>
      c.query(`CREATE DATABASE ${scratch} OWNER ${pg.escapeIdentifier(operatorRole())}`),
    );
    try {
      await db.bootstrap();
      const publicConnect = await withClient(admin(), async (c) => {
        const { rows } = await c.query<{ ok: boolean }>(
          "SELECT has_database_privilege('public', $1, 'CONNECT') AS ok",
          [scratch],
        );
        return rows[0]?.ok;
      });
      expect(publicConnect).toBe(false);
    } finally {
      await withClient(admin(), (c) => c.query(`DROP DATABASE IF EXISTS ${scratch}`));
    }
  });

  // Granting CONNECT to PUBLIC on a database the operator does not own would make every operator on this
  // server refuse to start at that moment (other test files run in parallel); a grant to this test's own tenant
  // group opens the same door through the same check, for this test alone.
  it('refuses to start, naming the REVOKE that fixes it, while tenants may connect to a database it does not own', async ({
    skip,
  }) => {
    if (!inject('databaseAdminUrl')) skip('needs the superuser of the test server');
    const suffix = uniqueName('x').replace(/-/g, '_');
    const scratch = `sec_shared_${suffix}`;
    const group = `sec_group_${suffix}`;
    await withClient(admin(), async (c) => {
      await c.query(`CREATE DATABASE ${scratch}`);
      await c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${scratch} FROM PUBLIC;
                     CREATE ROLE ${group} NOLOGIN; GRANT CONNECT ON DATABASE ${scratch} TO ${group}`);
    });
    const refused = openDatabase(undefined, undefined, { DATABASE_TENANT_GROUP: group });
    const allowed = openDatabase(undefined, undefined, {
      DATABASE_TENANT_GROUP: group,
      DATABASE_ALLOW_SHARED_DATABASES: 'true',
    });
    try {
      const err = await rejection(refused.bootstrap());
      expect(isCode(err, 'Config')).toBe(true);
      expect(err.message).toContain(scratch);
      expect(err.message).toContain(`REVOKE CONNECT, TEMPORARY ON DATABASE "${scratch}" FROM "${group}"`);
      expect(err.message).toContain('DATABASE_ALLOW_SHARED_DATABASES=true');
      await allowed.bootstrap();

      await withClient(admin(), (c) => c.query(`REVOKE CONNECT ON DATABASE ${scratch} FROM ${group}`));
      await refused.bootstrap();
    } finally {
      await Promise.all([refused.close(), allowed.close()]);
      await withClient(admin(), (c) => c.query(`DROP DATABASE IF EXISTS ${scratch}`));
      await withClient(privilegedUrl(), (c) =>
        c.query(`DROP OWNED BY ${group}; DROP ROLE IF EXISTS ${group}`),
      );
    }
  });
});

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../operator/src/db/database.js';
import { tenantNames, type TenantNames } from '../../operator/src/db/names.js';
import { newPassword } from '../../operator/src/db/scram.js';
import { eventually, uniqueName } from '../support/env.js';
import { loginFailure, openDatabase, privilegedUrl, urlAs, withClient } from './support.js';

/**
 * Leader election narrows but does not exclude two active replicas (SPEC 4a), so the tenant DDL must be safe when
 * two operators run it at once. Each replica has its own pool, as here: two Database instances.
 */

let a: Database;
let b: Database;
const account = uniqueName('ddl');
const names = (slug: string): TenantNames => tenantNames('ws', account, slug);

interface Inventory {
  roles: number;
  schemas: number;
  owner: string | null;
}

/** How many roles and schemas carry the tenant's names, and who owns the schema. */
async function inventory(n: TenantNames): Promise<Inventory> {
  return withClient(inject('databaseUrl'), async (c) => {
    const { rows } = await c.query<{ roles: number; schemas: number; owner: string | null }>(
      `SELECT (SELECT count(*)::int FROM pg_catalog.pg_roles WHERE rolname = $1) AS roles,
              (SELECT count(*)::int FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schemas,
              (SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = $2) AS owner`,
      [n.role, n.schema],
    );
    return rows[0] ?? { roles: -1, schemas: -1, owner: null };
  });
}

beforeAll(async () => {
  a = openDatabase();
  b = openDatabase();
  await Promise.all([a.bootstrap(), b.bootstrap()]);
  // Warm pools: the statements of the two replicas then reach the server within a millisecond of each other.
  await Promise.all([a.ping(), b.ping()]);
});

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

describe('tenant DDL run by two replicas at once', () => {
  it('provisions the same tenant concurrently twenty times without an error, leaving one role that owns one schema', async () => {
    for (let round = 0; round < 20; round++) {
      const n = names(`same-${round}`);
      const password = newPassword();
      const results = await Promise.allSettled([
        a.provisionTenant(n, password),
        b.provisionTenant(n, password),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(await inventory(n)).toEqual({ roles: 1, schemas: 1, owner: n.role });
      expect(await loginFailure(n.role, password)).toBeUndefined();
    }
  });

  it('ends concurrent provisioning with two different passwords with exactly one of them working', async () => {
    for (let round = 0; round < 5; round++) {
      const n = names(`pw-${round}`);
      const [first, second] = [newPassword(), newPassword()];
      await Promise.all([a.provisionTenant(n, first), b.provisionTenant(n, second)]);
      const failures = [await loginFailure(n.role, first), await loginFailure(n.role, second)];
      expect(failures.filter((f) => f === undefined)).toHaveLength(1);
      expect(failures.find((f) => f !== undefined)).toMatch(/password authentication failed/);
      expect(await inventory(n)).toEqual({ roles: 1, schemas: 1, owner: n.role });
    }
  });

  it('drops a tenant twice at once without an error and leaves neither role nor schema', async () => {
    const n = names('drop-twice');
    await a.provisionTenant(n, newPassword());
    const results = await Promise.allSettled([a.dropTenant(n), b.dropTenant(n)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await inventory(n)).toEqual({ roles: 0, schemas: 0, owner: null });
  });

  it('recreates an empty schema and a role with the new password when a dropped tenant is provisioned again', async () => {
    const n = names('again');
    const old = newPassword();
    await a.provisionTenant(n, old);
    await withClient(urlAs(inject('databaseUrl'), n.role, old), (c) =>
      c.query("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('before the drop')"),
    );
    await b.dropTenant(n);
    const fresh = newPassword();
    await a.provisionTenant(n, fresh);
    expect(await inventory(n)).toEqual({ roles: 1, schemas: 1, owner: n.role });
    expect(await loginFailure(n.role, old)).toMatch(/password authentication failed/);
    const tables = await withClient(urlAs(inject('databaseUrl'), n.role, fresh), async (c) => {
      const { rows } = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE schemaname = current_schema()',
      );
      return rows[0]?.n;
    });
    expect(tables).toBe(0);
  });

  it('ends a live session of the tenant when it drops the tenant', async () => {
    const n = names('live');
    const password = newPassword();
    await a.provisionTenant(n, password);
    await withClient(urlAs(inject('databaseUrl'), n.role, password), async (session) => {
      await session.query('CREATE TABLE notes (body text)');
      // An open transaction holding a lock on the schema's table: dropping the schema must not wait for it.
      await session.query('BEGIN');
      await session.query('INSERT INTO notes VALUES ($1)', ['in flight']);
      await a.dropTenant(n);
      await expect(session.query('SELECT 1')).rejects.toThrow(/terminat|Connection/i);
    });
    expect(await inventory(n)).toEqual({ roles: 0, schemas: 0, owner: null });
    const sessions = await withClient(inject('databaseUrl'), async (c) => {
      const { rows } = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE usename = $1',
        [n.role],
      );
      return rows[0]?.n;
    });
    expect(sessions).toBe(0);
  });
});

describe('passwords and the server log', () => {
  it('keeps the password and the SCRAM verifier of a tenant out of the statement log, when creating and when rotating', async () => {
    const n = names('log');
    const passwords = [newPassword(), newPassword()];
    const verifiers: string[] = [];
    const logFile = inject('postgresLog');
    const admin = inject('databaseAdminUrl');
    for (const password of passwords) {
      await a.provisionTenant(n, password);
      if (admin) {
        verifiers.push(
          await withClient(privilegedUrl(), async (c) => {
            const { rows } = await c.query<{ v: string }>(
              'SELECT rolpassword AS v FROM pg_catalog.pg_authid WHERE rolname = $1',
              [n.role],
            );
            return rows[0]?.v ?? '';
          }),
        );
      }
    }

    // What makes it hold on any server: the operator's role may turn statement logging off for its transaction.
    const silence = await withClient(inject('databaseUrl'), async (c) => {
      const { rows } = await c.query<{ ok: boolean }>(
        `SELECT r.rolsuper OR (has_parameter_privilege('log_statement', 'SET')
                AND has_parameter_privilege('log_min_error_statement', 'SET')) AS ok
           FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
      );
      return rows[0]?.ok;
    });
    expect(silence).toBe(true);
    if (!logFile) return;

    // The test server logs every statement; a marker sent after provisioning proves the log is current.
    const marker = `log-marker-${n.role}`;
    await withClient(inject('databaseUrl'), (c) => c.query(`SELECT '${marker}'`));
    const log = await eventually('the marker in the server log', async () => {
      const text = readFileSync(logFile, 'utf8');
      return text.includes(marker) ? text : undefined;
    });
    expect(verifiers).toHaveLength(2);
    for (const verifier of verifiers) {
      expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:/);
      expect(log).not.toContain(verifier);
      // The salted key pair alone would do as well as the whole verifier for an offline guessing attack.
      expect(log).not.toContain(verifier.split('$')[2] ?? verifier);
    }
    for (const password of passwords) expect(log).not.toContain(password);
    const aboutTenant = log.split('\n').filter((line) => line.includes(n.role));
    expect(aboutTenant.filter((line) => line.includes('SCRAM-SHA-256$'))).toEqual([]);
  });
});

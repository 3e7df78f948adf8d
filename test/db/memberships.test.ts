import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../operator/src/db/database.js';
import { loadConfig } from '../../operator/src/config.js';
import { creatorNames, creatorOf } from '../../operator/src/db/creators.js';
import { tenantNames, type TenantNames } from '../../operator/src/db/names.js';
import { newPassword } from '../../operator/src/db/scram.js';
import { uniqueName } from '../support/env.js';
import { loginFailure, openDatabase, urlAs, withClient } from './support.js';

/**
 * Provisioning stays flat only while the operator's role is a member of no tenant role (issue 12): a role that
 * is a member of every tenant role pays for the whole list on every change to pg_auth_members. So the tests
 * count the memberships instead of timing anything. On PostgreSQL 16 and newer the creator of a role always
 * holds an ADMIN grant of it from the bootstrap superuser (OID 10); only the grants the operator made count, as
 * its own or as the creator's it held ADMIN through. There the creators of db/creators.ts hold those ADMIN grants.
 */

let db: Database;
const account = uniqueName('member');
const names = (slug: string): TenantNames => tenantNames('ws', account, slug);

/** The tenant roles among `roles` that the operator's role is a member of by a grant of its own. */
async function operatorMemberships(roles: readonly string[]): Promise<string[]> {
  return withClient(inject('databaseUrl'), async (c) => {
    const { rows } = await c.query<{ name: string }>(
      `SELECT t.rolname AS name
         FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles t ON t.oid = m.roleid
        WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
          AND (m.grantor = m.member OR m.grantor <> 10 OR current_setting('server_version_num')::int < 160000)
          AND t.rolname = ANY($1)
        ORDER BY 1`,
      [roles],
    );
    return rows.map((r) => r.name);
  });
}

/**
 * What the design before issue 12 left behind: a tenant role the operator's role created itself (no creator) and
 * is a member of, with its schema.
 */
async function provisionAsBefore(n: TenantNames): Promise<void> {
  const group = loadConfig({ DATABASE_URL: inject('databaseUrl') }).database.tenantGroup;
  await withClient(inject('databaseUrl'), (c) =>
    c.query(`CREATE ROLE "${n.role}" LOGIN IN ROLE "${group}";
             GRANT "${n.role}" TO CURRENT_USER;
             CREATE SCHEMA "${n.schema}" AUTHORIZATION "${n.role}"`),
  );
}

beforeAll(async () => {
  db = openDatabase();
  await db.bootstrap();
});

afterAll(async () => {
  await db.close();
});

describe("the operator role's memberships in tenant roles", () => {
  it('leaves the operator a member of none of the tenants it provisioned, rotated and dropped', async () => {
    const tenants = Array.from({ length: 5 }, (_, i) => names(`flat-${i}`));
    await Promise.all(tenants.map((n) => db.provisionTenant(n, newPassword())));
    const rotated = tenants[0] as TenantNames;
    const password = newPassword();
    await db.provisionTenant(rotated, password);
    expect(await loginFailure(rotated.role, password)).toBeUndefined();
    await db.dropTenant(tenants[1] as TenantNames);
    expect(await operatorMemberships(tenants.map((n) => n.role))).toEqual([]);
  });

  it('revokes the memberships an earlier version left when it bootstraps, and finds nothing to do the second time', async () => {
    const tenants = Array.from({ length: 3 }, (_, i) => names(`old-${i}`));
    for (const n of tenants) {
      await provisionAsBefore(n);
    }
    const roles = tenants.map((n) => n.role);
    expect(await operatorMemberships(roles)).toEqual([...roles].sort());
    await db.bootstrap();
    expect(await operatorMemberships(roles)).toEqual([]);
    await db.bootstrap();
    expect(await operatorMemberships(roles)).toEqual([]);
  });

  it('rotates and drops a tenant whose membership an earlier version left, leaving neither role nor schema', async () => {
    const n = names('leftover');
    await provisionAsBefore(n);
    const password = newPassword();
    await db.provisionTenant(n, password);
    expect(await loginFailure(n.role, password)).toBeUndefined();
    await db.dropTenant(n);
    const left = await withClient(inject('databaseUrl'), (c) =>
      c.query(
        `SELECT FROM pg_catalog.pg_roles WHERE rolname = $1
               UNION ALL SELECT FROM pg_catalog.pg_namespace WHERE nspname = $2`,
        [n.role, n.schema],
      ),
    );
    expect(left.rowCount).toBe(0);
  });
});

/** Who holds each ADMIN grant of `role`, and who holds the operator's memberships (a count per grantor kind). */
async function adminHolders(role: string): Promise<string[]> {
  return withClient(inject('databaseUrl'), async (c) => {
    const { rows } = await c.query<{ name: string }>(
      `SELECT h.rolname AS name FROM pg_catalog.pg_auth_members m
         JOIN pg_catalog.pg_roles h ON h.oid = m.member
        WHERE m.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) AND m.admin_option
        ORDER BY 1`,
      [role],
    );
    return rows.map((r) => r.name);
  });
}

const operatorMembershipCount = () =>
  withClient(inject('databaseUrl'), async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_auth_members
        WHERE member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)`,
    );
    return rows[0]?.n ?? -1;
  });

describe('the roles tenant roles are created through (PostgreSQL 16 and newer)', () => {
  it("hold the new tenants' ADMIN grants instead of the operator, and a tenant can neither become one nor create roles", async () => {
    const { version, superuser } = await withClient(inject('databaseUrl'), async (c) => {
      const { rows } = await c.query<{ version: number; superuser: boolean }>(
        `SELECT current_setting('server_version_num')::int AS version,
                (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser`,
      );
      return rows[0] ?? { version: 0, superuser: false };
    });
    const creators = creatorNames(loadConfig({ DATABASE_URL: inject('databaseUrl') }).database.tenantGroup);
    const existing = await withClient(
      inject('databaseUrl'),
      async (c) =>
        (await c.query('SELECT FROM pg_catalog.pg_roles WHERE rolname = ANY($1)', [creators])).rowCount,
    );
    const withCreators = version >= 160000 && !superuser;
    expect(existing).toBe(withCreators ? creators.length : 0);

    const before = await operatorMembershipCount();
    const tenants = Array.from({ length: 4 }, (_, i) => names(`creator-${i}`));
    const passwords = tenants.map(() => newPassword());
    await Promise.all(tenants.map((n, i) => db.provisionTenant(n, passwords[i] ?? '')));
    // However many tenants exist, the operator's own memberships stay what they were.
    expect(await operatorMembershipCount()).toBe(before);
    const first = tenants[0] as TenantNames;
    if (withCreators) {
      for (const n of tenants) expect(await adminHolders(n.role)).toEqual([creatorOf(creators, n.role)]);
    } else expect(await adminHolders(first.role)).not.toContain(creatorOf(creators, first.role));

    // The tenant attacks with its own login: it is a member of no creator (on 15 none exists), and has no
    // CREATEROLE of its own.
    const creator = creatorOf(creators, first.role) ?? creators[0] ?? '';
    const attempts = await withClient(
      urlAs(inject('databaseUrl'), first.role, passwords[0] ?? ''),
      async (c) => {
        const refusals: string[] = [];
        for (const sql of [
          `SET ROLE "${creator}"`,
          'CREATE ROLE wsop_attacker LOGIN',
          `GRANT "${creator}" TO CURRENT_USER`,
          `ALTER ROLE "${tenants[1]?.role}" PASSWORD 'x'`,
        ]) {
          try {
            await c.query(sql);
            refusals.push(`allowed: ${sql}`);
          } catch (err) {
            refusals.push(
              err instanceof Error && /permission denied|does not exist/.test(err.message)
                ? 'refused'
                : String(err),
            );
          }
        }
        return refusals;
      },
    );
    expect(attempts).toEqual(['refused', 'refused', 'refused', 'refused']);
    const changed = await withClient(
      inject('databaseUrl'),
      async (c) =>
        (await c.query(`SELECT FROM pg_catalog.pg_roles WHERE rolname = 'wsop_attacker'`)).rowCount,
    );
    expect(changed).toBe(0);
    expect(await loginFailure(tenants[1]?.role ?? '', passwords[1] ?? '')).toBeUndefined();

    // Rotation, suspension and drop go through the creator too, and leave nothing behind.
    const rotated = newPassword();
    await db.provisionTenant(first, rotated);
    expect(await loginFailure(first.role, rotated)).toBeUndefined();
    await db.suspendTenant(first);
    expect(await loginFailure(first.role, rotated)).toMatch(/not permitted to log in/);
    await db.resumeTenant(first);
    expect(await loginFailure(first.role, rotated)).toBeUndefined();
    for (const n of tenants) await db.dropTenant(n);
    const left = await withClient(inject('databaseUrl'), (c) =>
      c.query('SELECT FROM pg_catalog.pg_roles WHERE rolname = ANY($1)', [tenants.map((n) => n.role)]),
    );
    expect(left.rowCount).toBe(0);
    expect(await operatorMembershipCount()).toBe(before);
  });
});

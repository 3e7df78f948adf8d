import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../operator/src/db/database.js';
import { tenantNames, type TenantNames } from '../../operator/src/db/names.js';
import { newPassword } from '../../operator/src/db/scram.js';
import { uniqueName } from '../support/env.js';
import { loginFailure, openDatabase, withClient } from './support.js';

/**
 * Provisioning stays flat only while the operator's role is a member of no tenant role (issue 12): a role that
 * is a member of every tenant role pays for the whole list on every change to pg_auth_members. So the tests
 * count the memberships instead of timing anything. On PostgreSQL 16 and newer the creator of a role always
 * holds an ADMIN grant of it from the bootstrap superuser; only the grants the operator made itself count.
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
          AND (m.grantor = m.member OR current_setting('server_version_num')::int < 160000)
          AND t.rolname = ANY($1)
        ORDER BY 1`,
      [roles],
    );
    return rows.map((r) => r.name);
  });
}

/** What the design before issue 12 left behind: the operator's role a member of the tenant's role. */
async function grantAsBefore(n: TenantNames): Promise<void> {
  await withClient(inject('databaseUrl'), (c) => c.query(`GRANT "${n.role}" TO CURRENT_USER`));
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
      await db.provisionTenant(n, newPassword());
      await grantAsBefore(n);
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
    await db.provisionTenant(n, newPassword());
    await grantAsBefore(n);
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

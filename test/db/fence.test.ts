import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../operator/src/db/database.js';
import { tenantNames } from '../../operator/src/db/names.js';
import { newPassword } from '../../operator/src/db/scram.js';
import { errorMessage } from '../../operator/src/errors.js';
import { uniqueName } from '../support/env.js';
import { openDatabase, privilegedUrl, withClient } from './support.js';

/**
 * Server-side fencing of tenant DDL (issue 10: a paused leader that comes back after its Lease expired must not
 * write). Two replicas' Databases lead one after the other under one Lease; the older one's DDL is refused by
 * PostgreSQL's copy of the epoch, whatever its own clock believes, and changes nothing.
 */

const lease = `fence-test/${uniqueName('lease')}`;
const account = uniqueName('fnc');
const prefix = 'wsop';
const names = (slug: string) => tenantNames(prefix, account, slug);
let older: Database;
let newer: Database;
const fenced: string[] = [];

async function roleExists(role: string): Promise<boolean> {
  return withClient(privilegedUrl(), async (c) => {
    const { rows } = await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [role]);
    return rows.length === 1;
  });
}

beforeAll(async () => {
  older = openDatabase();
  newer = openDatabase();
  await older.bootstrap();
  await newer.bootstrap();
});

afterAll(async () => {
  for (const slug of ['a', 'b', 'c', 'd', 'e']) await newer.dropTenant(names(slug)).catch(() => {});
  await older?.close();
  await newer?.close();
});

describe('the database fence', () => {
  it('refuses the DDL of a replica once a newer leader took the fence, and changes nothing', async () => {
    older.lead({ lease, identity: 'replica-old', onFenced: (r) => fenced.push(r) });
    await older.provisionTenant(names('a'), newPassword());

    newer.lead({ lease, identity: 'replica-new', onFenced: () => fenced.push('newer fenced') });
    await newer.provisionTenant(names('b'), newPassword());

    // The older replica still believes it leads: PostgreSQL says otherwise.
    const create = await older.provisionTenant(names('c'), newPassword()).then(
      () => 'provisioned',
      (err: unknown) => errorMessage(err),
    );
    expect(create).toMatch(/not sent: replica replica-new leads the tenant DDL now/);
    expect(await roleExists(names('c').role)).toBe(false);
    const drop = await older.dropTenant(names('a')).then(
      () => 'dropped',
      (err: unknown) => errorMessage(err),
    );
    expect(drop).toMatch(/replica replica-new leads/);
    expect(await roleExists(names('a').role)).toBe(true);
    expect(fenced).toHaveLength(2);
    expect(fenced[0]).toMatch(/replica-new/);

    // The newer leader goes on.
    await newer.provisionTenant(names('d'), newPassword());
    expect(await roleExists(names('d').role)).toBe(true);
  });

  it("waits for the older leader's transaction in flight before it takes over", async () => {
    const otherLease = `${lease}-2`;
    older.lead({ lease: otherLease, identity: 'first', onFenced: () => {} });
    await older.provisionTenant(names('a'), newPassword());
    const order: string[] = [];
    // A session of the test holds the lock row of tenant e: the older leader's provision waits inside its
    // transaction, after its fence check, as a leader paused mid-transaction would.
    await withClient(privilegedUrl(), async (c) => {
      await c.query('BEGIN');
      await c.query(
        `INSERT INTO workspace_operator.locks (name) VALUES ($1)
           ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name`,
        [`tenant:${names('e').role}`],
      );
      const inFlight = older.provisionTenant(names('e'), newPassword()).then(() => order.push('older'));
      await new Promise((r) => setTimeout(r, 300));
      newer.lead({ lease: otherLease, identity: 'second', onFenced: () => {} });
      const takeover = newer.provisionTenant(names('d'), newPassword()).then(() => order.push('newer'));
      await new Promise((r) => setTimeout(r, 500));
      expect(order).toEqual([]);
      await c.query('COMMIT');
      await Promise.all([inFlight, takeover]);
    });
    // The older transaction began under its own epoch and finished; only then did the newer one raise it.
    expect(order).toEqual(['older', 'newer']);
    expect(await roleExists(names('e').role)).toBe(true);
  });
});

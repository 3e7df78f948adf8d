import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../operator/src/db/database.js';
import { tenantNames, type TenantNames } from '../../operator/src/db/names.js';
import { newPassword } from '../../operator/src/db/scram.js';
import { isCode } from '../../operator/src/errors.js';
import { uniqueName } from '../support/env.js';
import { eachLimit, inDatabase, loginFailure, openDatabase, withClient } from './support.js';

/**
 * No fault of PostgreSQL ends the process (issue 10 item 1). The server ends the operator's sessions in the
 * middle of its transactions, again and again, as a shutdown or an administrator does: every call either
 * completes or fails with a retryable Database error, nothing is thrown where nobody listens, and retries
 * converge. This file's Database has an application name of its own, so only its sessions are terminated.
 */

const app = uniqueName('faults');
const account = uniqueName('flt');
let db: Database;

/** Terminates every session of this file's Database, as the superuser, until stopped; counts the kills. */
function terminator(): { stop(): Promise<number> } {
  let running = true;
  let killed = 0;
  const loop = withClient(inDatabase(inject('databaseAdminUrl'), 'postgres'), async (c) => {
    while (running) {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
           FROM pg_catalog.pg_stat_activity WHERE application_name = $1`,
        [app],
      );
      killed += rows[0]?.n ?? 0;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    }
  });
  return {
    async stop() {
      running = false;
      await loop;
      return killed;
    },
  };
}

beforeAll(async () => {
  const url = new URL(inject('databaseUrl'));
  url.searchParams.set('application_name', app);
  db = openDatabase(url.toString());
  await db.bootstrap();
});

afterAll(async () => {
  await db?.close();
});

// Terminating sessions needs the superuser of a server the tests started.
describe.skipIf(!inject('databaseAdminUrl'))('sessions terminated in the middle of transactions', () => {
  it('fail the calls in flight with retryable Database errors, and retries then provision every tenant', async () => {
    const tenants: { n: TenantNames; password: string }[] = Array.from({ length: 40 }, (_, i) => ({
      n: tenantNames('ws', account, `t${i}`),
      password: newPassword(),
    }));
    const failures: unknown[] = [];
    const kill = terminator();
    let pending = tenants;
    for (let round = 0; round < 3; round++) {
      const left: typeof tenants = [];
      await eachLimit(pending, 8, async (t) => {
        try {
          await db.provisionTenant(t.n, t.password);
        } catch (err) {
          failures.push(err);
          left.push(t);
        }
      });
      pending = left;
    }
    const killed = await kill.stop();
    expect(killed).toBeGreaterThan(0);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((err) => !isCode(err, 'Database'))).toEqual([]);

    // PostgreSQL is left alone now: what failed is retried, as the controllers' backoff would.
    for (const t of pending) await db.provisionTenant(t.n, t.password);
    for (const t of tenants) expect(await loginFailure(t.n.role, t.password)).toBeUndefined();
  });

  it('fail drops in flight the same way, and retried drops remove every tenant', async () => {
    const tenants = Array.from({ length: 20 }, (_, i) => tenantNames('ws', account, `d${i}`));
    for (const n of tenants) await db.provisionTenant(n, newPassword());
    const failures: unknown[] = [];
    const kill = terminator();
    let pending = tenants;
    for (let round = 0; round < 3; round++) {
      const left: TenantNames[] = [];
      await eachLimit(pending, 8, async (n) => {
        try {
          await db.dropTenant(n);
        } catch (err) {
          failures.push(err);
          left.push(n);
        }
      });
      pending = left;
    }
    await kill.stop();
    expect(failures.filter((err) => !isCode(err, 'Database'))).toEqual([]);
    for (const n of pending) await db.dropTenant(n);
    const left = await db.listTenants('ws');
    for (const n of tenants) {
      expect(left.roles.has(n.role)).toBe(false);
      expect(left.schemas.has(n.schema)).toBe(false);
    }
  });
});

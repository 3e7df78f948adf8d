import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../../operator/src/db/database.js';
import { tenantNames, type TenantNames } from '../../operator/src/db/names.js';
import { newPassword } from '../../operator/src/db/scram.js';
import { clientBinDir } from '../../operator/tools/local/postgres.js';
import { uniqueName } from '../support/env.js';
import { eachLimit, inDatabase, openDatabase, privilegedUrl, urlAs, withClient } from './support.js';

/**
 * A backup of the operator's database is a pg_dump like any other, but one that locks every tenant table in a
 * single transaction (SPEC 4a; docs/database.md has the sizing at 12,600 tenants). Here a few hundred tenants, each
 * with rows written through its own credentials, go through pg_dump (custom format) and pg_restore into a fresh
 * database, and come back whole and still isolated from each other.
 */

const run = promisify(execFile);
const TENANTS = 300;
const ROWS = 10;

const account = uniqueName('bk');
const restored = `restore_${account.replace(/-/g, '_')}`;
// Schema names start with the prefix and a hint of the account (names.ts): this pattern is exactly our tenants.
const schemaPattern = `ws_${account.replace(/-/g, '_')}_*`;
let db: Database;
let tenants: { names: TenantNames; password: string }[] = [];
let folder = '';

const bodyOf = (role: string, i: number) => `${role} row ${i}`;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'wsop-backup-'));
  db = openDatabase();
  await db.bootstrap();
  tenants = Array.from({ length: TENANTS }, (_, i) => ({
    names: tenantNames('ws', account, `t-${i}`),
    password: newPassword(),
  }));
  await eachLimit(tenants, 8, (t) => db.provisionTenant(t.names, t.password));
  // Every tenant writes its own table, logged in with its own credentials as an application would.
  await eachLimit(tenants, 8, (t) =>
    withClient(urlAs(inject('databaseUrl'), t.names.role, t.password), async (c) => {
      await c.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
      await c.query(`INSERT INTO notes SELECT i, $1 || ' row ' || i FROM generate_series(1, ${ROWS}) AS i`, [
        t.names.role,
      ]);
    }),
  );
});

afterAll(async () => {
  await withClient(privilegedUrl(), (c) =>
    c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(restored)} WITH (FORCE)`),
  ).catch(() => {});
  await eachLimit(tenants, 8, (t) => db.dropTenant(t.names));
  await db.close();
  rmSync(folder, { recursive: true, force: true });
});

describe('a backup of the tenants', () => {
  it('restores every tenant row from a pg_dump into a fresh database, with tenants still unable to read each other', async () => {
    const bin = clientBinDir();
    const dump = join(folder, 'workspaces.dump');
    await run(join(bin, 'pg_dump'), [
      '--format=custom',
      `--schema=${schemaPattern}`,
      `--file=${dump}`,
      `--dbname=${privilegedUrl()}`,
    ]);
    expect(statSync(dump).size).toBeGreaterThan(0);

    // The fresh database is set up as the operator sets up its own: owned by the operator's role, CONNECT only
    // through the tenant group, nothing for PUBLIC.
    const operatorRole = decodeURIComponent(new URL(inject('databaseUrl')).username);
    await withClient(privilegedUrl(), (c) =>
      c.query(`CREATE DATABASE ${pg.escapeIdentifier(restored)} OWNER ${pg.escapeIdentifier(operatorRole)}`),
    );
    const target = openDatabase(inDatabase(inject('databaseUrl'), restored));
    await target.bootstrap();
    await target.close();
    await run(join(bin, 'pg_restore'), [
      '--exit-on-error',
      `--dbname=${inDatabase(privilegedUrl(), restored)}`,
      dump,
    ]);

    const back = await withClient(inDatabase(privilegedUrl(), restored), async (c) => {
      const { rows } = await c.query<{ schema: string; owner: string; rows: number; bodies: string }>(
        tenants
          .map(
            (t) =>
              `SELECT ${pg.escapeLiteral(t.names.schema)} AS schema, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
                      (SELECT count(*)::int FROM ${pg.escapeIdentifier(t.names.schema)}.notes) AS rows,
                      (SELECT string_agg(body, '|' ORDER BY id) FROM ${pg.escapeIdentifier(t.names.schema)}.notes) AS bodies
                 FROM pg_catalog.pg_class c
                WHERE c.oid = ${pg.escapeLiteral(`${pg.escapeIdentifier(t.names.schema)}.notes`)}::regclass`,
          )
          .join('\nUNION ALL\n'),
      );
      return new Map(rows.map((r) => [r.schema, r]));
    });
    expect(back.size).toBe(TENANTS);
    for (const t of tenants) {
      const expected = Array.from({ length: ROWS }, (_, i) => bodyOf(t.names.role, i + 1)).join('|');
      expect(back.get(t.names.schema)).toEqual({
        schema: t.names.schema,
        owner: t.names.role,
        rows: ROWS,
        bodies: expected,
      });
    }

    // After the restore, each tenant logs in to the restored database, reads its own rows and nobody else's.
    const sample = [tenants[0], tenants[Math.floor(TENANTS / 2)], tenants[TENANTS - 1]].filter(
      (t) => t !== undefined,
    );
    for (const [i, t] of sample.entries()) {
      const other = sample[(i + 1) % sample.length];
      if (!other) throw new Error('the sample has fewer than two tenants');
      await withClient(urlAs(inject('databaseUrl'), t.names.role, t.password, restored), async (c) => {
        const own = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM notes');
        expect(own.rows[0]?.n).toBe(ROWS);
        await expect(
          c.query(`SELECT body FROM ${pg.escapeIdentifier(other.names.schema)}.notes`),
        ).rejects.toThrow(/permission denied/);
      });
    }
  });
});

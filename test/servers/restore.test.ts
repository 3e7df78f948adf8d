/**
 * Restoring the tenant database onto a new, empty PostgreSQL server (issue 15, item 6; docs/backup.md). Tenant
 * roles are server-global and a dump of the database does not carry them, so a logical restore onto a new server
 * brings back every schema and row but no role, and everything it restores is owned by the role that restored it.
 *
 * Here an operator provisions two workspaces on a server of this file's own, and each writes through its own
 * Secret a table with a serial column, a view, a function and an enum type. The database is dumped by the old
 * server's superuser (pg_dump -Fc), the old server is stopped for good, and the dump is restored onto a new server
 * by the operator's own role (pg_restore --no-owner --no-acl), the way docs/backup.md says. An operator pointed at
 * the new server must then re-create each role with the password its Secret already holds and give it back what its
 * schema holds: every Secret works again unchanged but for the address, every row is there, the tenant can write
 * and call what it made, and one tenant still reaches nothing of the other.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tenantNames, workspaceNamespace } from '../../operator/src/db/names.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { clientBinDir, startPostgres, type LocalPostgres } from '../../operator/tools/local/postgres.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  secretData,
  waitReady,
  withWorkspaceConnection,
} from '../support/fixtures.js';
import { startOperator } from '../support/operator.js';
import { withClient } from '../db/support.js';

const run = promisify(execFile);
const shard = uniqueName('restore');
const leaseNs = uniqueName('lease');
const account = uniqueName('rst');
const SLUGS = ['alpha', 'beta'] as const;
const ROWS = 25;
let api: Api;
let before: LocalPostgres;
let after: LocalPostgres;

const credentials = (slug: string) =>
  secretData(api, workspaceNamespace(account, slug), 'database-credentials');

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
  const runDir = inject('runDir');
  [before, after] = await Promise.all([
    startPostgres(join(runDir, `${shard}-before`)),
    startPostgres(join(runDir, `${shard}-after`)),
  ]);
});

afterAll(async () => {
  await Promise.all([before?.stop(), after?.stop()]);
  await api.delete(Resources.Namespace, { name: leaseNs }).catch(() => undefined);
});

/** Nothing in the tenant's schema is left to the role that restored it. */
async function expectOwnedByTenant(slug: string): Promise<void> {
  const { schema, role } = tenantNames('ws', account, slug);
  const foreign = await withClient(after.adminUrl, (c) =>
    c.query(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND pg_get_userbyid(c.relowner) <> $2
             UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = $1 AND pg_get_userbyid(p.proowner) <> $2
             UNION ALL SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              WHERE n.nspname = $1 AND pg_get_userbyid(t.typowner) <> $2
             UNION ALL SELECT nspname FROM pg_namespace WHERE nspname = $1 AND pg_get_userbyid(nspowner) <> $2`,
      [schema, role],
    ),
  );
  expect(foreign.rows, `objects of ${schema} not owned by ${role}`).toEqual([]);
}

describe('a restore of the tenant database onto a new, empty server', () => {
  it('gives every workspace its role back with the password its Secret holds, and loses no row', async () => {
    // The old server: two workspaces, each with objects of every kind a tenant makes, and rows.
    const first = await startOperator({ shard, leaseNamespace: leaseNs, databaseUrl: before.operatorUrl });
    const passwords = new Map<string, string>();
    try {
      await createAccount(api, shard, account);
      for (const slug of SLUGS) await createWorkspace(api, shard, account, slug);
      for (const slug of SLUGS) {
        await waitReady(api, Resources.Workspace, account, slug);
        const data = await credentials(slug);
        expect(data.port).toBe(String(before.port));
        passwords.set(slug, data.password ?? '');
        await withWorkspaceConnection(data, async (c) => {
          await c.query(`CREATE TYPE mood AS ENUM ('calm', 'busy')`);
          await c.query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL, mood mood)');
          await c.query('CREATE VIEW busy_notes AS SELECT id, body FROM notes WHERE mood = $$busy$$');
          await c.query(
            'CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS $$SELECT count(*) FROM notes$$',
          );
          await c.query(
            `INSERT INTO notes (body, mood) SELECT $1 || ' ' || i, 'busy' FROM generate_series(1, $2) AS i`,
            [slug, ROWS],
          );
        });
      }
    } finally {
      await first.operator.stop();
    }

    // The backup: the whole database, dumped by the old server's superuser; then the old server is gone.
    const tools = clientBinDir();
    const dump = join(inject('runDir'), `${shard}.dump`);
    const superuser = new URL(before.adminUrl);
    superuser.pathname = new URL(before.operatorUrl).pathname;
    await run(join(tools, 'pg_dump'), ['-Fc', '-f', dump, '-d', superuser.toString()]);
    await before.stop('fast');
    // The restore: by the operator's role, onto a new server that has never seen the tenants.
    const { role: alphaRole } = tenantNames('ws', account, 'alpha');
    expect(
      await withClient(after.adminUrl, (c) =>
        c.query('SELECT FROM pg_roles WHERE rolname = $1', [alphaRole]),
      ),
    ).toMatchObject({
      rowCount: 0,
    });
    await run(join(tools, 'pg_restore'), [
      '--no-owner',
      '--no-acl',
      '--exit-on-error',
      '-d',
      after.operatorUrl,
      dump,
    ]);

    const second = await startOperator({ shard, leaseNamespace: leaseNs, databaseUrl: after.operatorUrl });
    try {
      for (const slug of SLUGS) {
        // The Workspaces are still Ready from before, and the Secret is written before the role gets its password:
        // wait until the Secret names the new server and lets its application in.
        const data = await eventually(`the Secret of ${slug} to work on the new server`, async () => {
          const d = await credentials(slug);
          if (d.port !== String(after.port)) return undefined;
          return withWorkspaceConnection(d, async () => d).catch(() => undefined);
        });
        await waitReady(api, Resources.Workspace, account, slug);
        await expectOwnedByTenant(slug);
        // The same password, now at the new server's address.
        expect(data.password).toBe(passwords.get(slug));
        await withWorkspaceConnection(data, async (c) => {
          expect((await c.query('SELECT note_count() AS n')).rows[0]).toEqual({ n: String(ROWS) });
          expect((await c.query('SELECT count(*)::int AS n FROM busy_notes')).rows[0]).toEqual({ n: ROWS });
          // The serial's sequence is the tenant's again: it can write, and numbering goes on where it was.
          const added = await c.query<{ id: number }>(
            `INSERT INTO notes (body, mood) VALUES ('after', 'calm') RETURNING id`,
          );
          expect(added.rows[0]?.id).toBe(ROWS + 1);
          await c.query('ALTER TABLE notes ADD COLUMN seen boolean');
          await c.query('CREATE TABLE more_notes (body text)');
        });
      }
      // And the tenants are as isolated as before: alpha reaches nothing of beta.
      const { schema: betaSchema } = tenantNames('ws', account, 'beta');
      await withWorkspaceConnection(await credentials('alpha'), async (c) => {
        await expect(c.query(`SELECT count(*) FROM ${betaSchema}.notes`)).rejects.toThrow(
          /permission denied/,
        );
        await expect(c.query(`SELECT ${betaSchema}.note_count()`)).rejects.toThrow(/permission denied/);
      });
    } finally {
      await second.operator.stop();
    }
  });
});

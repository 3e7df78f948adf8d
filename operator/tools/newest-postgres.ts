/**
 * `npm run test:newest-postgres`: after `vitest run` has run every test on the oldest PostgreSQL the project
 * supports (the default of WSOP_POSTGRES), the database-heavy integration files run again on the newest, which
 * `npm ci` installs too. `npm run test:newest-postgres -- --all` runs every integration file on it instead.
 *
 * Left out by default are the files that run pg_dump or pg_restore (a backup, a restore onto a new server, moves
 * between servers): pg_dump refuses a server newer than itself, and the client tools of Debian 12 are 15 (the npm
 * packages carry the server alone). With client tools as new as the server on the machine, `--all` runs them too.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './local/install.js';
import { NEWEST_POSTGRES } from './local/postgres.js';

/** What the operator asks of PostgreSQL: tenant DDL and its locks, faults, TLS, and every isolation test. */
export const NEWEST_POSTGRES_INTEGRATION = [
  'test/db/faults.test.ts',
  'test/db/fence.test.ts',
  'test/db/memberships.test.ts',
  'test/db/tenants.test.ts',
  'test/servers/verify-full.test.ts',
  'test/security/',
  'test/reconcilers/',
];

const VITEST = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

export function testOnNewestPostgres(all: boolean): void {
  if (process.env.DATABASE_URL) {
    process.stderr.write(
      '[test:newest-postgres] DATABASE_URL is set: the tests ran on that database alone\n',
    );
    return;
  }
  process.stderr.write(`[test:newest-postgres] the integration tests on PostgreSQL ${NEWEST_POSTGRES}\n`);
  execFileSync(
    process.execPath,
    [VITEST, 'run', '--project', 'integration', ...(all ? [] : NEWEST_POSTGRES_INTEGRATION)],
    { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, WSOP_POSTGRES: NEWEST_POSTGRES } },
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    testOnNewestPostgres(process.argv.includes('--all'));
  } catch (err) {
    // A failing vitest run has printed its failures already; the exit code is what CI reads.
    process.stderr.write(
      `[test:newest-postgres] ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}

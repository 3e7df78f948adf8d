import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../operator/src/config.js';
import { Database } from '../../operator/src/db/database.js';
import { silentLogger } from '../../operator/src/log.js';
import { Metrics } from '../../operator/src/metrics.js';

/**
 * Helpers for tests of the operator's SQL against the test PostgreSQL: a Database configured exactly as the
 * operator configures its own (from the same environment variables and defaults), and connections as a tenant.
 */

/**
 * A Database as one operator replica holds it: its own pool, the operator's defaults, or the settings of `env`
 * (the operator's environment variables, e.g. DATABASE_TENANT_GROUP).
 */
export function openDatabase(
  url: string = inject('databaseUrl'),
  metrics = new Metrics(),
  env: Record<string, string> = {},
): Database {
  const { database } = loadConfig({ ...env, DATABASE_URL: url });
  return new Database({ ...database, log: silentLogger, metrics });
}

/** The same server as `base`, as another user and optionally in another database. */
export function urlAs(base: string, user: string, password: string, database?: string): string {
  const url = new URL(base);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  if (database !== undefined) url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** `base` pointed at another database of the same server, with the same credentials. */
export function inDatabase(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/**
 * The most privileged connection the run has: the superuser of the server the tests started, or, against an
 * external DATABASE_URL, the operator's own role.
 */
export function privilegedUrl(): string {
  const admin = inject('databaseAdminUrl');
  const operator = inject('databaseUrl');
  return admin ? inDatabase(admin, databaseNameOf(operator)) : operator;
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // A session ended by the server (dropTenant terminates them) must fail the query, not crash the worker.
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why `user` cannot log in with `password` on the operator's database, or undefined when it can. */
export async function loginFailure(user: string, password: string): Promise<string | undefined> {
  try {
    await withClient(urlAs(inject('databaseUrl'), user, password), (c) => c.query('SELECT 1'));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

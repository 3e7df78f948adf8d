import { setMaxListeners } from 'node:events';
import pg from 'pg';
import { Labels } from '../../src/api/v1alpha1/group.js';
import { tenantNames, workspaceNamespace } from '../../src/db/names.js';
import { errorMessage } from '../../src/errors.js';
import type { Api } from '../../src/kube/api.js';
import { Informer, keyOf, type CachedObject } from '../../src/kube/informer.js';
import { Resources } from '../../src/kube/resources.js';
import { silentLogger } from '../../src/log.js';
import { isReady } from '../bench/readiness.js';
import { accountBody, workspaceBody } from '../bench/objects.js';
import { delay, eachLimit, progress } from '../bench/common.js';

/**
 * What one chaos scenario does to the cluster and measures from outside, as a client would: a burst of
 * Workspaces in accounts of its own (labelled for its operator's WATCH_LABEL_SELECTOR), rows each workspace writes
 * through the credentials of its own Secret, and the books at the end: orphans both ways and rows lost.
 */
export const CHAOS_LABEL = 'chaos.taskjuice.io/scenario';
export const SECRET_NAME = 'database-credentials';
export const ROWS_PER_WORKSPACE = 10;

export interface WorkloadOptions {
  api: Api;
  /** A connection to the operator's database that may read the catalog (the superuser's, or the operator's). */
  catalogUrl: string;
  /** Label value of this scenario (its operator watches only these objects). */
  scenario: string;
  accounts: string[];
  /** The operator's DATABASE_NAME_PREFIX, distinct per scenario, so its schemas and roles are countable. */
  prefix: string;
}

export interface Orphans {
  schemas: number;
  roles: number;
  namespaces: number;
  /** Live workspaces without their schema, role, namespace or Secret. */
  missing: number;
}

export const totalOrphans = (o: Orphans): number => o.schemas + o.roles + o.namespaces + o.missing;

export class Workload {
  readonly live = new Set<string>();
  readonly deleted = new Set<string>();
  /** Keys ever seen Stalled=True. */
  readonly stalled = new Set<string>();
  /** Rows written per key, and write attempts that failed (retried later). */
  readonly rows = new Map<string, number>();
  admissionErrors = 0;
  clientErrors = 0;
  readonly errorSamples: string[] = [];
  private readonly informer: Informer;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  readonly labels: Record<string, string>;

  constructor(private readonly o: WorkloadOptions) {
    setMaxListeners(0, this.abort.signal);
    this.labels = { [CHAOS_LABEL]: o.scenario };
    this.informer = new Informer(o.api, Resources.Workspace, {
      labelSelector: `${CHAOS_LABEL}=${o.scenario}`,
      log: silentLogger,
    });
    const seen = (obj: CachedObject) => {
      const conditions = (obj.status as { conditions?: { type?: string; status?: string }[] } | undefined)
        ?.conditions;
      if (conditions?.some((c) => c.type === 'Stalled' && c.status === 'True')) this.stalled.add(keyOf(obj));
    };
    this.informer.on({ add: seen, update: (_, obj) => seen(obj) });
  }

  get accounts(): readonly string[] {
    return this.o.accounts;
  }

  async start(): Promise<void> {
    this.running = this.informer.run(this.abort.signal);
    await this.informer.waitForSync(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  /** A client call retried (bounded) through faults; refusals by admission and other failures are counted. */
  private async retrying(what: string, call: () => Promise<unknown>, attempts = 60): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await call();
        return;
      } catch (err) {
        const message = errorMessage(err);
        if (/webhook|admission/i.test(message)) this.admissionErrors++;
        else this.clientErrors++;
        if (this.errorSamples.length < 5) this.errorSamples.push(`${what}: ${message.slice(0, 200)}`);
        if (i >= attempts) throw err;
        await delay(500);
      }
    }
  }

  async createAccounts(timeoutMs = 120_000): Promise<void> {
    for (const name of this.o.accounts) {
      await this.retrying(`create account ${name}`, () =>
        this.o.api.create(Resources.Account, accountBody(name, this.labels)),
      );
    }
    const deadline = performance.now() + timeoutMs;
    for (const name of this.o.accounts) {
      for (;;) {
        const a = await this.o.api.get(Resources.Account, { name }).catch(() => undefined);
        if (a && isReady(a as CachedObject)) break;
        if (performance.now() > deadline) throw new Error(`account ${name} not Ready in ${timeoutMs} ms`);
        await delay(200);
      }
    }
  }

  /** Keys `account/ws-<i>` for i in [from, from+count), spread round-robin over the accounts. */
  keys(from: number, count: number): string[] {
    return Array.from({ length: count }, (_, j) => {
      const i = from + j;
      return `${this.o.accounts[i % this.o.accounts.length]}/ws-${i}`;
    });
  }

  async create(keys: readonly string[], concurrency = 16): Promise<void> {
    await eachLimit(keys, concurrency, async (key) => {
      const [account = '', slug = ''] = key.split('/');
      await this.retrying(`create ${key}`, async () => {
        try {
          await this.o.api.create(Resources.Workspace, workspaceBody(account, slug, this.labels));
        } catch (err) {
          // A create whose response was lost (the server went away) may have landed.
          if (!/AlreadyExists|already exists/.test(errorMessage(err))) throw err;
        }
      });
      this.live.add(key);
    });
  }

  async delete(keys: readonly string[], concurrency = 16): Promise<void> {
    await eachLimit(keys, concurrency, async (key) => {
      const [namespace = '', name = ''] = key.split('/');
      this.live.delete(key);
      this.deleted.add(key);
      await this.retrying(`delete ${key}`, () => this.o.api.delete(Resources.Workspace, { namespace, name }));
    });
  }

  /** Live keys whose workspace is Ready for its current generation now (from the watch). */
  readyKeys(): string[] {
    return [...this.live].filter((k) => {
      const obj = this.informer.get(k);
      return obj !== undefined && isReady(obj);
    });
  }

  private async secretUri(key: string): Promise<string | undefined> {
    const [account = '', slug = ''] = key.split('/');
    const s = (await this.o.api.get(Resources.Secret, {
      namespace: workspaceNamespace(account, slug),
      name: SECRET_NAME,
    })) as { data?: Record<string, string> } | undefined;
    const uri = s?.data?.uri;
    return uri ? Buffer.from(uri, 'base64').toString('utf8') : undefined;
  }

  private async withTenant<T>(key: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const uri = await this.secretUri(key);
    if (!uri) throw new Error(`${key} has no Secret`);
    const c = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 5_000 });
    c.on('error', () => {});
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  }

  /** Every Ready live workspace that has written nothing yet writes its rows; failures are left for a later call. */
  async writeRows(concurrency = 8): Promise<number> {
    const todo = this.readyKeys().filter((k) => !this.rows.has(k));
    let written = 0;
    await eachLimit(todo, concurrency, async (key) => {
      try {
        await this.withTenant(key, (c) =>
          c.query(
            `CREATE TABLE IF NOT EXISTS chaos_rows (n int); INSERT INTO chaos_rows SELECT generate_series(1, ${ROWS_PER_WORKSPACE})`,
          ),
        );
        this.rows.set(key, ROWS_PER_WORKSPACE);
        written++;
      } catch {
        /* not usable yet: the next round tries again */
      }
    });
    return written;
  }

  /** Rows written minus rows read back through each live workspace's current Secret. */
  async rowsLost(concurrency = 8): Promise<number> {
    let lost = 0;
    await eachLimit(
      [...this.rows].filter(([k]) => this.live.has(k)),
      concurrency,
      async ([key, n]) => {
        try {
          const got = await this.withTenant(key, async (c) => {
            const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM chaos_rows');
            return Number(r.rows[0]?.n ?? 0);
          });
          lost += Math.max(0, n - got);
        } catch {
          lost += n;
        }
      },
    );
    return lost;
  }

  async orphans(): Promise<Orphans> {
    const expected = new Set([...this.live].map((k) => tenantName(this.o.prefix, k)));
    const admin = new pg.Client({ connectionString: this.o.catalogUrl });
    admin.on('error', () => {});
    await admin.connect();
    let schemas: string[];
    let roles: string[];
    try {
      const like = `${this.o.prefix}\\_%`;
      schemas = (
        await admin.query<{ n: string }>(`SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE $1`, [
          like,
        ])
      ).rows.map((r) => r.n);
      roles = (
        await admin.query<{ n: string }>(`SELECT rolname AS n FROM pg_roles WHERE rolname LIKE $1`, [like])
      ).rows.map((r) => r.n);
    } finally {
      await admin.end();
    }
    const { items } = await this.o.api.list(Resources.Namespace, {
      labelSelector: `${Labels.component}=workspace,${Labels.account} in (${this.o.accounts.join(',')})`,
    });
    const namespaces = (items as CachedObject[])
      .filter((n) => !n.metadata.deletionTimestamp)
      .map((n) => n.metadata.name);
    const expectedNs = new Set(
      [...this.live].map((k) => {
        const [a = '', s = ''] = k.split('/');
        return workspaceNamespace(a, s);
      }),
    );
    const schemaSet = new Set(schemas);
    const roleSet = new Set(roles);
    const nsSet = new Set(namespaces);
    let missing = 0;
    for (const k of this.live) {
      const [a = '', s = ''] = k.split('/');
      const name = tenantName(this.o.prefix, k);
      if (!schemaSet.has(name) || !roleSet.has(name) || !nsSet.has(workspaceNamespace(a, s))) missing++;
    }
    return {
      schemas: schemas.filter((s) => !expected.has(s)).length,
      roles: roles.filter((r) => !expected.has(r)).length,
      namespaces: namespaces.filter((n) => !expectedNs.has(n)).length,
      missing,
    };
  }

  /**
   * Waits until every live workspace is Ready, every deleted one is gone and nothing is orphaned; the time that
   * took since `since`, or NaN at the deadline (with what was still wrong).
   */
  async converge(
    timeoutMs: number,
    since = performance.now(),
  ): Promise<{ ms: number; notReady: number; notGone: number; orphans: Orphans }> {
    const started = since;
    let polls = 0;
    let orphans: Orphans = { schemas: 0, roles: 0, namespaces: 0, missing: 0 };
    for (;;) {
      const notReady = this.live.size - this.readyKeys().length;
      const notGone = [...this.deleted].filter((k) => this.informer.get(k) !== undefined).length;
      if (notReady === 0 && notGone === 0) {
        try {
          orphans = await this.orphans();
          if (totalOrphans(orphans) === 0)
            return { ms: performance.now() - started, notReady, notGone, orphans };
        } catch {
          /* the database may be on its way back */
        }
      }
      if (performance.now() - started > timeoutMs) return { ms: Number.NaN, notReady, notGone, orphans };
      if (++polls % 40 === 0) {
        progress(
          `${this.o.scenario}: waiting: ${notReady} not Ready, ${notGone} deleted not gone, orphans ${JSON.stringify(orphans)}`,
        );
      }
      await delay(250);
    }
  }

  /** The live workspaces as the watch sees them (for the soak's counts). */
  cachedCount(): number {
    return [...this.informer.list()].length;
  }
}

const tenantName = (prefix: string, key: string): string => {
  const [account = '', slug = ''] = key.split('/');
  return tenantNames(prefix, account, slug).schema;
};

/** The same server and credentials, in another database (schemas are per database, roles are not). */
export function inDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

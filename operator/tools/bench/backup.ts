/**
 * Backup at scale (SPEC 4a): pg_dump of a database holding N tenant schemas, each with a table, against servers
 * whose lock table is sized differently. pg_dump takes an ACCESS SHARE lock on every table it dumps, all in one
 * transaction, so it needs about one slot of the shared lock table per table.
 *
 *   npm run bench:backup -- --tenants 12600 [--tables 1] [--configs 64x100,512x100] [--rows 1] [--real]
 *                            [--skip-restore]
 *
 * `--configs` lists servers as max_locks_per_transaction x max_connections. The fast path (the default) creates
 * tenants with bulk SQL as the superuser: each role a LOGIN member of the tenant group without a password, its
 * schema, and one table owned by it, 200 tenants per statement. What pg_dump meets is the same as after the
 * operator's provisioning (one schema and role per tenant); what it skips is the SCRAM verifier and a
 * transaction per role (`npm run bench:db` measures that path). `--real` provisions through the operator's own Database.provisionTenant instead; tables
 * are always bulk SQL (SET ROLE to each tenant), not a login per tenant, which would cost a SCRAM exchange each.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { Database } from '../../src/db/database.js';
import { tenantNames, type TenantNames } from '../../src/db/names.js';
import { newPassword } from '../../src/db/scram.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { newRunDir } from '../local/processes.js';
import { OPERATOR_DATABASE, clientBinDir, startPostgres, type LocalPostgres } from '../local/postgres.js';
import { eachLimit, fixed, mb, onShutdown, progress, row, seconds } from './common.js';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

const { values: args } = parseArgs({
  options: {
    tenants: { type: 'string', default: '12600' },
    configs: { type: 'string', default: '64x100,512x100' },
    tables: { type: 'string', default: '1' },
    rows: { type: 'string', default: '1' },
    real: { type: 'boolean', default: false },
    'skip-restore': { type: 'boolean', default: false },
  },
});

const TENANTS = Number(args.tenants);
const TABLES = Number(args.tables);
const ROWS = Number(args.rows);
if (!Number.isInteger(TENANTS) || TENANTS < 1) throw new Error('--tenants must be a positive whole number');
if (!Number.isInteger(ROWS) || ROWS < 0) throw new Error('--rows must be a whole number');
if (!Number.isInteger(TABLES) || TABLES < 1) throw new Error('--tables must be a positive whole number');
const tableNames = Array.from({ length: TABLES }, (_, i) => (i === 0 ? 'notes' : `notes_${i + 1}`));

interface ServerConfig {
  maxLocks: number;
  maxConnections: number;
  label: string;
}

const configs: ServerConfig[] = args.configs.split(',').map((c) => {
  const m = /^(\d+)x(\d+)$/.exec(c.trim());
  if (!m) throw new Error(`--configs: "${c}" is not LOCKSxCONNECTIONS, e.g. 64x100`);
  return {
    maxLocks: Number(m[1]),
    maxConnections: Number(m[2]),
    label: `max_locks_per_transaction=${m[1]}, max_connections=${m[2]}`,
  };
});

interface Outcome {
  config: ServerConfig;
  lockSlots: number;
  lockCapacity: number;
  provisionMs: number;
  tablesMs: number;
  dump: { ok: boolean; ms: number; error: string; bytes: number; peakLocks: number };
  restore?: { ok: boolean; ms: number; tables: number; error: string };
}

const servers: LocalPostgres[] = [];
const cleanup = onShutdown(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

const inDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
};

/**
 * The size of the shared lock table as PostgreSQL computes it: max_locks_per_transaction slots for every backend
 * the server may have (connections, autovacuum workers and launcher, background workers, WAL senders) and every
 * prepared transaction.
 */
async function lockSlots(admin: pg.Client): Promise<number> {
  const { rows } = await admin.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_catalog.pg_settings WHERE name IN ('max_locks_per_transaction',
       'max_connections', 'autovacuum_max_workers', 'max_worker_processes', 'max_wal_senders',
       'max_prepared_transactions')`,
  );
  const s = Object.fromEntries(rows.map((r) => [r.name, Number(r.setting)]));
  const backends =
    (s.max_connections ?? 0) +
    (s.autovacuum_max_workers ?? 0) +
    1 +
    (s.max_worker_processes ?? 0) +
    (s.max_wal_senders ?? 0);
  return (s.max_locks_per_transaction ?? 0) * (backends + (s.max_prepared_transactions ?? 0));
}

/**
 * How many locks one transaction can really take before "out of shared memory": shared hash tables grow into the
 * spare shared memory beyond their nominal size, so the formula above is a floor, not the limit. Advisory locks
 * live in the same lock table as pg_dump's table locks; the loop takes them until it fails, and the
 * subtransaction that held them is rolled back.
 */
async function lockCapacity(adminUrl: string): Promise<number> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  let capacity = Number.NaN;
  c.on('notice', (n) => {
    const m = /^lock capacity (\d+)$/.exec(n.message ?? '');
    if (m) capacity = Number(m[1]);
  });
  try {
    await c.query(`DO $probe$ DECLARE i int := 0; BEGIN
        BEGIN
          LOOP
            i := i + 1;
            PERFORM pg_advisory_xact_lock(i);
            EXIT WHEN i >= 50000000;
          END LOOP;
        EXCEPTION WHEN out_of_memory THEN NULL;
        END;
        RAISE NOTICE 'lock capacity %', i - 1;
      END $probe$`);
  } finally {
    await c.end();
  }
  return capacity;
}

async function provision(server: LocalPostgres, tenants: TenantNames[]): Promise<number> {
  const started = performance.now();
  const { database } = loadConfig({ DATABASE_URL: server.operatorUrl });
  const db = new Database({
    ...database,
    url: server.operatorUrl,
    log: silentLogger,
    metrics: new Metrics(),
  });
  try {
    await db.bootstrap();
    let done = 0;
    const timer = setInterval(() => {
      const s = (performance.now() - started) / 1000;
      progress(`  provisioned ${done}/${tenants.length} tenants (${fixed(done / s, 0)}/s)`);
    }, 5_000);
    try {
      if (!args.real) {
        const admin = new pg.Client({ connectionString: inDatabase(server.adminUrl, OPERATOR_DATABASE) });
        await admin.connect();
        try {
          for (let i = 0; i < tenants.length; i += 250) {
            const batch = tenants.slice(i, i + 250);
            await admin.query(
              batch
                .map(
                  (t) =>
                    `CREATE ROLE ${ident(t.role)} LOGIN IN ROLE ${ident(database.tenantGroup)};
                     ALTER ROLE ${ident(t.role)} SET search_path = ${ident(t.schema)};
                     CREATE SCHEMA ${ident(t.schema)} AUTHORIZATION ${ident(t.role)};`,
                )
                .join('\n'),
            );
            done += batch.length;
          }
        } finally {
          await admin.end();
        }
      } else {
        await eachLimit(tenants, database.poolSize, async (t) => {
          await db.provisionTenant(t, newPassword());
          done++;
        });
      }
    } finally {
      clearInterval(timer);
    }
  } finally {
    await db.close();
  }
  return performance.now() - started;
}

/** `TABLES` tables per tenant, owned by the tenant, with `ROWS` rows each: bulk SQL by the superuser. */
async function createTables(server: LocalPostgres, tenants: TenantNames[]): Promise<number> {
  const started = performance.now();
  const admin = new pg.Client({ connectionString: inDatabase(server.adminUrl, OPERATOR_DATABASE) });
  await admin.connect();
  try {
    // 200 tables per transaction: each new table holds a lock until commit, and the lock table is what is tested.
    for (let i = 0; i < tenants.length; i += 200) {
      const batch = tenants.slice(i, i + 200);
      await admin.query(
        batch
          .map(
            (t) =>
              `SET ROLE ${ident(t.role)};
               ${tableNames
                 .map(
                   (table) => `CREATE TABLE ${ident(t.schema)}.${table} (id int, body text);
               INSERT INTO ${ident(t.schema)}.${table} SELECT i, ${literal(t.role)} FROM generate_series(1, ${ROWS}) i;`,
                 )
                 .join('\n')}
               RESET ROLE;`,
          )
          .join('\n'),
      );
      if ((i / 200) % 10 === 9) progress(`  tables: ${i + batch.length}/${tenants.length}`);
    }
  } finally {
    await admin.end();
  }
  return performance.now() - started;
}

/** Runs a client binary, returning its exit code and the end of its stderr. */
function runTool(command: string, argv: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

async function dump(server: LocalPostgres, file: string): Promise<Outcome['dump']> {
  // While pg_dump runs, a second session samples how many locks it holds.
  const watcher = new pg.Client({ connectionString: server.adminUrl });
  await watcher.connect();
  let peakLocks = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await watcher.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid)
          WHERE a.application_name = 'pg_dump'`,
      );
      peakLocks = Math.max(peakLocks, rows[0]?.n ?? 0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const started = performance.now();
  const result = await runTool(join(clientBinDir(), 'pg_dump'), [
    '--format=custom',
    `--file=${file}`,
    `--dbname=${inDatabase(server.adminUrl, OPERATOR_DATABASE)}`,
  ]);
  const elapsed = performance.now() - started;
  sampling = false;
  await sampler.catch(() => {});
  await watcher.end();
  let bytes = 0;
  try {
    bytes = statSync(file).size;
  } catch {
    bytes = 0;
  }
  return {
    ok: result.code === 0,
    ms: elapsed,
    error: result.code === 0 ? '' : result.stderr.trim(),
    bytes,
    peakLocks,
  };
}

async function restore(server: LocalPostgres, file: string): Promise<NonNullable<Outcome['restore']>> {
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE restored');
    const started = performance.now();
    const result = await runTool(join(clientBinDir(), 'pg_restore'), [
      '--exit-on-error',
      `--dbname=${inDatabase(server.adminUrl, 'restored')}`,
      file,
    ]);
    const elapsed = performance.now() - started;
    const check = new pg.Client({ connectionString: inDatabase(server.adminUrl, 'restored') });
    await check.connect();
    const { rows } = await check.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE tablename LIKE 'notes%' AND schemaname LIKE 'ws\\_%'`,
    );
    await check.end();
    return {
      ok: result.code === 0,
      ms: elapsed,
      tables: rows[0]?.n ?? 0,
      error: result.code === 0 ? '' : result.stderr.trim(),
    };
  } finally {
    await admin.end();
  }
}

async function measure(config: ServerConfig): Promise<Outcome> {
  progress(`server with ${config.label}`);
  const runDir = newRunDir(`bench-backup-${config.maxLocks}x${config.maxConnections}`);
  const server = await startPostgres(runDir, (line) => progress(`  ${line}`), {
    settings: {
      max_locks_per_transaction: String(config.maxLocks),
      max_connections: String(config.maxConnections),
      // Tens of thousands of DDL statements: logging them would measure the disk, not the dump.
      log_statement: 'none',
    },
  });
  servers.push(server);
  try {
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    const slots = await lockSlots(admin);
    await admin.end();
    const tenants = Array.from({ length: TENANTS }, (_, i) => tenantNames('ws', 'backup', `tenant-${i}`));
    progress(
      `  provisioning ${TENANTS} tenants ${args.real ? 'with Database.provisionTenant' : '(bulk SQL as superuser, no password)'}`,
    );
    const provisionMs = await provision(server, tenants);
    progress(`  creating ${TENANTS * TABLES} tables with ${ROWS} row(s) each (bulk SQL)`);
    const tablesMs = await createTables(server, tenants);
    progress('  probing the lock table: advisory locks in one transaction until out of shared memory');
    const capacity = await lockCapacity(server.adminUrl);
    progress('  pg_dump --format=custom');
    const file = join(runDir, 'workspaces.dump');
    const dumped = await dump(server, file);
    progress(`  pg_dump ${dumped.ok ? 'succeeded' : 'failed'} in ${seconds(dumped.ms)}`);
    const outcome: Outcome = {
      config,
      lockSlots: slots,
      lockCapacity: capacity,
      provisionMs,
      tablesMs,
      dump: dumped,
    };
    if (dumped.ok && !args['skip-restore']) {
      progress('  pg_restore into a fresh database');
      outcome.restore = await restore(server, file);
    }
    return outcome;
  } finally {
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
  }
}

function report(outcomes: Outcome[]): void {
  const out: string[] = [];
  out.push('');
  out.push(
    `Backup at scale: ${TENANTS} tenants, ${TABLES} table(s) of ${ROWS} row(s) each: ${TENANTS * TABLES} tables`,
  );
  out.push(
    `  provisioning: ${args.real ? 'Database.provisionTenant (SCRAM verifier per role)' : 'bulk SQL as superuser (roles without password; the fast path)'}; tables: bulk SQL`,
  );
  for (const o of outcomes) {
    out.push('');
    out.push(`${o.config.label}`);
    out.push(
      row(
        'lock table, nominal: locks × (backends + prepared)',
        String(o.lockSlots),
        `pg_dump needs ≈ ${TENANTS * TABLES} (one per table)`,
      ),
    );
    out.push(
      row(
        'lock table, measured: locks one transaction can take',
        String(o.lockCapacity),
        'spare shared memory lets it grow past nominal',
      ),
    );
    out.push(
      row('provisioning', seconds(o.provisionMs), `${fixed(TENANTS / (o.provisionMs / 1000), 0)} tenants/s`),
    );
    out.push(row('tables', seconds(o.tablesMs)));
    out.push(row('pg_dump', o.dump.ok ? 'OK' : 'FAILED', `${seconds(o.dump.ms)}`));
    if (o.dump.ok) {
      out.push(row('  dump size', mb(o.dump.bytes)));
      out.push(row('  peak locks held by pg_dump', String(o.dump.peakLocks)));
    } else {
      for (const line of o.dump.error.split('\n').slice(-4)) out.push(`    ${line}`);
    }
    if (o.restore) {
      out.push(
        row(
          'pg_restore into a fresh database',
          o.restore.ok ? 'OK' : 'FAILED',
          `${seconds(o.restore.ms)}, ${o.restore.tables} of ${TENANTS * TABLES} tables back`,
        ),
      );
      if (!o.restore.ok) for (const line of o.restore.error.split('\n').slice(-4)) out.push(`    ${line}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  const outcomes: Outcome[] = [];
  try {
    for (const config of configs) outcomes.push(await measure(config));
  } finally {
    await cleanup();
  }
  report(outcomes);
}

main().catch((err: unknown) => {
  progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void cleanup().finally(() => process.exit(1));
});

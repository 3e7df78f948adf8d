/**
 * Tenant DDL at scale (issue 12): provisions N tenants through the operator's own Database class, 8 at a time,
 * then drops them all, and prints per thousand tenants the throughput and the p50/p99 of one call, so that a cost
 * that grows with the number of tenants that exist shows as a slope. The first 20 of each thousand run one at a
 * time: on a machine shared with other work their median moves less than a throughput does.
 *
 *   npm run bench:db -- --tenants 10000 [--concurrency 8]
 *
 * With DATABASE_URL it uses that database as the operator's role (whatever tenants it already holds count too);
 * otherwise it starts a throw-away PostgreSQL of its own, set up as the tests' one (a CREATEROLE operator role,
 * no superuser), but with statement logging off, as a production server has it.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { Database } from '../../src/db/database.js';
import { tenantNames, type TenantNames } from '../../src/db/names.js';
import { newPassword } from '../../src/db/scram.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { newRunDir } from '../local/processes.js';
import { startPostgres, type LocalPostgres } from '../local/postgres.js';
import { eachLimit, fixed, ms, onShutdown, progress, quantile, wholeNumber } from './common.js';

const { values: args } = parseArgs({
  options: {
    tenants: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
  },
});
const TENANTS = wholeNumber('tenants', args.tenants);
const CONCURRENCY = wholeNumber('concurrency', args.concurrency);
const BLOCK = 1000;

let server: LocalPostgres | undefined;
const cleanup = onShutdown(async () => {
  await server?.stop();
});

/**
 * One block of BLOCK tenants: its first PROBE one at a time (a figure the machine's other load moves less than a
 * throughput), then the rest CONCURRENCY at a time.
 */
interface Block {
  sequential: number[];
  concurrentMs: number;
  durations: number[];
}

const PROBE = 20;

async function timed(
  tenants: readonly TenantNames[],
  what: string,
  fn: (n: TenantNames) => Promise<void>,
): Promise<Block[]> {
  const blocks: Block[] = [];
  for (let from = 0; from < tenants.length; from += BLOCK) {
    const chunk = tenants.slice(from, from + BLOCK);
    const probe = Math.min(PROBE, Math.floor(chunk.length / 2));
    const sequential: number[] = [];
    for (const n of chunk.slice(0, probe)) {
      const t0 = performance.now();
      await fn(n);
      sequential.push(performance.now() - t0);
    }
    const durations: number[] = [];
    const t0 = performance.now();
    await eachLimit(chunk.slice(probe), CONCURRENCY, async (n) => {
      const t1 = performance.now();
      await fn(n);
      durations.push(performance.now() - t1);
    });
    blocks.push({ sequential, concurrentMs: performance.now() - t0, durations });
    progress(`${what}: ${from + chunk.length} of ${tenants.length}`);
  }
  return blocks;
}

/** The table of one phase; `label(i)` names the tenants that existed during block i; dropping is `shrinking`. */
function report(title: string, blocks: Block[], label: (i: number) => string, shrinking: boolean): void {
  console.log(`\n${title}: ${CONCURRENCY} concurrent, and the block's first ${PROBE} one at a time`);
  console.log(
    `  ${'tenants'.padEnd(14)} ${'per second'.padStart(11)} ${'per tenant'.padStart(11)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'alone p50'.padStart(10)}`,
  );
  const perTenant: number[] = [];
  const alone: number[] = [];
  blocks.forEach((b, i) => {
    const each = b.concurrentMs / b.durations.length;
    perTenant.push(each);
    alone.push(quantile(b.sequential, 0.5));
    console.log(
      `  ${label(i).padEnd(14)} ${fixed((b.durations.length / b.concurrentMs) * 1000, 1).padStart(11)} ${fixed(each, 2).padStart(8)} ms ${ms(quantile(b.durations, 0.5)).padStart(8)} ${ms(quantile(b.durations, 0.99)).padStart(8)} ${fixed(alone.at(-1) ?? Number.NaN, 1).padStart(7)} ms`,
    );
  });
  const total = blocks.reduce((sum, b) => sum + b.concurrentMs, 0);
  const count = blocks.reduce((sum, b) => sum + b.durations.length, 0);
  console.log(`  ${'all'.padEnd(14)} ${fixed((count / total) * 1000, 1).padStart(11)}`);
  // Dropping starts with the most tenants: a ratio is always the most tenants' block over the fewest's.
  const ratio = (figures: number[], unit: string) => {
    const [fewest, most] = shrinking ? [figures.at(-1), figures[0]] : [figures[0], figures.at(-1)];
    const [f, m] = [fewest ?? Number.NaN, most ?? Number.NaN];
    return `${fixed(m / f)} (${fixed(m, 2)} ms / ${fixed(f, 2)} ms ${unit})`;
  };
  console.log(`  most tenants / fewest, per tenant:  ${ratio(perTenant, 'concurrent')}; target <= 1.5`);
  console.log(`  most tenants / fewest, alone p50:   ${ratio(alone, 'one at a time')}`);
}

async function serverVersion(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? '?';
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    server = await startPostgres(newRunDir('bench-db'), (line) => progress(line), {
      settings: { log_statement: 'none' },
    });
    url = server.operatorUrl;
  }
  const { database } = loadConfig({ DATABASE_URL: url });
  const db = new Database({
    ...database,
    poolSize: Math.max(database.poolSize, CONCURRENCY),
    log: silentLogger,
    metrics: new Metrics(),
  });
  try {
    await db.bootstrap();
    // A run of its own: names never met before, so nothing an earlier run left is reused.
    const account = `bench-${Date.now().toString(36)}`;
    const tenants = Array.from({ length: TENANTS }, (_, i) => tenantNames('ws', account, `t${i}`));
    const version = await serverVersion(url);
    progress(`PostgreSQL ${version}: provisioning ${TENANTS} tenants`);
    const provisioned = await timed(tenants, 'provisioned', (n) => db.provisionTenant(n, newPassword()));
    progress(`dropping ${TENANTS} tenants`);
    const dropped = await timed(tenants, 'dropped', (n) => db.dropTenant(n));

    console.log(`PostgreSQL ${version}, ${TENANTS} tenants, the operator's Database class`);
    const k = (n: number) => (n % BLOCK === 0 ? `${n / BLOCK}k` : String(n));
    const span = (from: number, to: number) => `${k(from)}–${k(to)}`;
    report('provisioning', provisioned, (i) => span(i * BLOCK, Math.min(TENANTS, (i + 1) * BLOCK)), false);
    report(
      'dropping',
      dropped,
      (i) => span(TENANTS - i * BLOCK, Math.max(0, TENANTS - (i + 1) * BLOCK)),
      true,
    );
  } finally {
    await db.close();
  }
}

main()
  .catch((err: unknown) => {
    process.exitCode = 1;
    progress(err instanceof Error ? (err.stack ?? err.message) : String(err));
  })
  .finally(() => void cleanup());

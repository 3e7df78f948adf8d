import pg from 'pg';
import { delay, progress, seconds } from '../../bench/common.js';
import { gauge } from '../../bench/prometheus.js';
import { TcpProxy } from '../../local/proxy.js';
import { Stage, type ScenarioContext, type ScenarioResult } from '../scenario.js';

const FAULT_MS = 20_000;
const POOL_SIZE = 10;

/**
 * PostgreSQL slow, then silent: the operator reaches it through a TCP proxy that first adds 200 ms to every chunk
 * in each direction, then stops forwarding without closing anything (the connections frozen then never come
 * back). Workspaces reach the server directly. Nothing may hang for good, the pool may not run dry, and once the
 * proxy is fast again everything converges.
 */
export async function postgresSlow(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.workspaces;
  const stage = new Stage(ctx, 'pgslow', 'pgsl', Math.max(1, Math.ceil(n / 30)));
  await stage.begin();
  const w = stage.workload;
  const real = new URL(ctx.platform.postgres.operatorUrl);
  const proxy = new TcpProxy(real.hostname, Number(real.port));
  await proxy.start();
  const viaProxy = new URL(real);
  viaProxy.port = String(proxy.port);
  const operator = stage.replica('op', {
    databaseUrl: viaProxy.toString(),
    env: {
      DATABASE_CLIENT_HOST: real.hostname,
      DATABASE_CLIENT_PORT: real.port,
      DATABASE_POOL_SIZE: String(POOL_SIZE),
    },
  });
  await operator.start();
  await w.createAccounts();

  // The pool's own count is the bound the operator keeps; the server's count also holds sessions a frozen
  // network left open behind clients the pool already gave up (PostgreSQL ends them at its own timeouts).
  let peakPool = 0;
  let peakWaiting = 0;
  let peakConnections = 0;
  let peakInFlight = 0;
  let sampling = true;
  const admin = new pg.Client({ connectionString: ctx.platform.postgres.adminUrl });
  admin.on('error', () => {});
  await admin.connect();
  const sampler = (async () => {
    while (sampling) {
      await delay(500);
      const r = await admin
        .query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'workspace-operator' AND usename = $1",
          [real.username],
        )
        .catch(() => undefined);
      peakConnections = Math.max(peakConnections, Number(r?.rows[0]?.n ?? 0));
      const m = await operator.metrics().catch(() => []);
      const f = gauge(m, 'controller_runtime_active_workers', { controller: 'workspace' });
      if (Number.isFinite(f)) peakInFlight = Math.max(peakInFlight, f);
      const pool = (state: string) => gauge(m, 'workspace_operator_database_pool_connections', { state });
      if (Number.isFinite(pool('total'))) peakPool = Math.max(peakPool, pool('total'));
      if (Number.isFinite(pool('waiting'))) peakWaiting = Math.max(peakWaiting, pool('waiting'));
    }
  })();

  const half = Math.ceil(n / 2);
  let from = 0;
  try {
    for (const fault of ['slow', 'frozen'] as const) {
      const count = fault === 'slow' ? half : n - half;
      const keys = w.keys(from, count);
      from += count;
      await w.create(keys.slice(0, Math.ceil(count / 3)));
      await w.converge(120_000);
      await w.writeRows();
      progress(`pgslow: ${fault} for ${FAULT_MS / 1000} s`);
      if (fault === 'slow') proxy.slow(200);
      else proxy.freeze();
      await w.create(keys.slice(Math.ceil(count / 3)));
      await delay(FAULT_MS);
      await proxy.restore();
      const fast = performance.now();
      const converged = await w.converge(150_000, fast);
      await w.writeRows();
      progress(`pgslow (${fault}): converged ${seconds(converged.ms)} after the proxy is fast again`);
      stage.add(
        `${fault === 'slow' ? '200 ms per chunk' : 'frozen, not closed'}: converged once fast again`,
        seconds(converged.ms),
        fault === 'slow' ? '≤ 30 s' : '≤ 60 s (query_timeout 30 s + backoff)',
        converged.ms <= (fault === 'slow' ? 30_000 : 60_000),
      );
      if (fault === 'frozen') stage.addBooks(converged, 60);
    }
  } finally {
    sampling = false;
    await sampler;
    await admin.end();
  }
  const m = await operator.metrics().catch(() => []);
  stage.add(
    "operator's pool: connections, peak (pool size)",
    `${peakPool} (${POOL_SIZE})`,
    `≤ ${POOL_SIZE}`,
    peakPool <= POOL_SIZE,
  );
  const waitingAtEnd = gauge(m, 'workspace_operator_database_pool_connections', { state: 'waiting' });
  stage.add(
    "operator's pool: reconciles waiting for a connection, peak / at the end",
    `${peakWaiting} / ${waitingAtEnd}`,
    '0 at the end',
    waitingAtEnd === 0,
  );
  stage.add('server sessions of the operator, peak (with those a frozen link left)', `${peakConnections}`);
  stage.add(
    'workspace reconciles in flight, peak / at the end',
    `${peakInFlight} / ${gauge(m, 'controller_runtime_active_workers', { controller: 'workspace' })}`,
  );
  const result = await stage.finish();
  await proxy.stop();
  return result;
}

import { delay, progress, seconds } from '../../bench/common.js';
import type { ShutdownMode } from '../../local/postgres.js';
import { Stage, type ScenarioContext, type ScenarioResult } from '../scenario.js';

const OUTAGE_MS = 20_000;

/**
 * PostgreSQL stopped for 20 s during a burst and started again on the same data directory and port, once with
 * `pg_ctl stop -m fast` and once with `-m immediate` (no shutdown checkpoint: crash recovery on start). Rows are
 * written before the fault and counted after.
 */
export async function postgresStop(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.workspaces;
  const stage = new Stage(ctx, 'pgstop', 'pgst', Math.max(1, Math.ceil(n / 30)));
  await stage.begin();
  const w = stage.workload;
  const operator = stage.replica('op');
  await operator.start();
  await w.createAccounts();
  const half = Math.ceil(n / 2);
  let from = 0;
  for (const mode of ['fast', 'immediate'] as ShutdownMode[]) {
    const count = mode === 'fast' ? half : n - half;
    const keys = w.keys(from, count);
    from += count;
    // The first third is Ready and has written rows before the fault; the rest arrives while it lasts.
    await w.create(keys.slice(0, Math.ceil(count / 3)));
    await w.converge(120_000);
    await w.writeRows();
    const creating = w.create(keys.slice(Math.ceil(count / 3)));
    await delay(300);
    progress(`pgstop: pg_ctl stop -m ${mode} for ${OUTAGE_MS / 1000} s`);
    await ctx.platform.postgres.stop(mode);
    await delay(OUTAGE_MS);
    await ctx.platform.postgres.start();
    const back = performance.now();
    await creating;
    const converged = await w.converge(120_000, back);
    await w.writeRows();
    progress(`pgstop (${mode}): converged ${seconds(converged.ms)} after PostgreSQL's return`);
    stage.add(
      `-m ${mode}: converged after PostgreSQL is back`,
      seconds(converged.ms),
      '≤ 30 s',
      converged.ms <= 30_000,
    );
    if (mode === 'immediate') stage.addBooks(converged, 30);
  }
  return stage.finish();
}

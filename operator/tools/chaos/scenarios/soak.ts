import pg from 'pg';
import { Resources } from '../../../src/kube/resources.js';
import { delay, mb, progress, quantile } from '../../bench/common.js';
import { OPERATOR_DATABASE } from '../../local/postgres.js';
import { CHAOS_LABEL, inDatabase } from '../workload.js';
import { Stage, pct, type ScenarioContext, type ScenarioResult } from '../scenario.js';

/**
 * Create and delete workspaces in a loop for `--minutes`: a population of about `--workspaces` (at most 100) kept
 * turning over, a batch created and the oldest batch deleted every round. At the end the catalog (schemas and
 * roles of this scenario's prefix) must count exactly the live workspaces, and the operator's resident set after
 * warm-up (the first third) must not drift by more than 5 %.
 */
export async function soak(ctx: ScenarioContext): Promise<ScenarioResult> {
  const population = Math.max(10, Math.min(100, ctx.workspaces));
  const batch = Math.max(2, Math.floor(population / 10));
  const stage = new Stage(ctx, 'soak', 'soak', Math.max(1, Math.ceil(population / 30)));
  await stage.begin();
  const w = stage.workload;
  const operator = stage.replica('op');
  await operator.start();
  await w.createAccounts();
  let next = 0;
  const order: string[] = [];
  const grow = async (count: number) => {
    const keys = w.keys(next, count);
    next += count;
    order.push(...keys);
    await w.create(keys);
  };
  await grow(population);
  await w.converge(120_000);
  const durationMs = ctx.minutes * 60_000;
  const started = performance.now();
  const samples: { at: number; rss: number }[] = [];
  let rounds = 0;
  while (performance.now() - started < durationMs && rounds < 100_000) {
    rounds++;
    await w.delete(order.splice(0, batch));
    await grow(batch);
    await w.writeRows();
    // A round takes about as long as the operator needs for it, so the loop runs at the operator's pace.
    await w.converge(60_000);
    samples.push({ at: performance.now() - started, rss: operator.rss() });
    if (rounds % 20 === 0) progress(`soak: round ${rounds}, ${next} created, RSS ${mb(operator.rss())}`);
    await delay(200);
  }
  const c = await w.converge(120_000);
  const admin = new pg.Client({
    connectionString: inDatabase(ctx.platform.postgres.adminUrl, OPERATOR_DATABASE),
  });
  await admin.connect();
  const like = 'soak\\_%';
  const counts = await admin.query<{ schemas: string; roles: string }>(
    `SELECT (SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1) AS schemas,
            (SELECT count(*) FROM pg_roles WHERE rolname LIKE $1) AS roles`,
    [like],
  );
  await admin.end();
  const schemas = Number(counts.rows[0]?.schemas);
  const roles = Number(counts.rows[0]?.roles);
  const { items } = await ctx.platform.api.list(Resources.Workspace, {
    labelSelector: `${CHAOS_LABEL}=${stage.scenario}`,
  });
  const liveObjects = items.length;
  const warm = samples.filter((s) => s.at >= durationMs / 3).map((s) => s.rss);
  const firstWarm = warm.slice(0, Math.max(1, Math.floor(warm.length / 4)));
  const lastWarm = warm.slice(-Math.max(1, Math.floor(warm.length / 4)));
  const drift = (quantile(lastWarm, 0.5) - quantile(firstWarm, 0.5)) / quantile(firstWarm, 0.5);
  stage.add('rounds / workspaces created / deleted', `${rounds} / ${next} / ${w.deleted.size}`);
  stage.add(
    'catalog schemas / roles / live Workspaces',
    `${schemas} / ${roles} / ${liveObjects}`,
    'equal',
    schemas === liveObjects && roles === liveObjects && liveObjects === w.live.size,
  );
  stage.add(
    'RSS after warm-up: first quarter → last quarter',
    `${mb(quantile(firstWarm, 0.5))} → ${mb(quantile(lastWarm, 0.5))}`,
  );
  stage.add('RSS drift after warm-up', pct(drift), '≤ 5 %', Math.abs(drift) <= 0.05);
  stage.addBooks(c, 30);
  return stage.finish();
}

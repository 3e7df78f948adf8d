import { delay, progress } from '../../bench/common.js';
import { Stage, timeUntil, type ScenarioContext, type ScenarioResult } from '../scenario.js';

/**
 * SIGKILL at random points (SPEC 7, crashes): the burst arrives in slices, one per kill, and each kill lands a
 * random moment (0-1.5 s) after the new process synced its caches, so before, during or after the reconciles the
 * slice and the restart started; a tenth of the
 * Ready workspaces is deleted along the way. A killed container restarts in its pod, so the Lease identity stays.
 */
export async function kills(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.workspaces;
  const killCount = Math.max(1, Math.ceil(n / 3));
  const stage = new Stage(ctx, 'kills', 'kill', Math.max(1, Math.ceil(n / 30)));
  await stage.begin();
  const w = stage.workload;
  const operator = stage.replica('op');
  await operator.start();
  await w.createAccounts();
  const perKill = Math.max(1, Math.ceil(n / killCount));
  const started = performance.now();
  let lastRestart = started;
  const deadline = started + Math.max(ctx.minutes, 1) * 60_000 * 4;
  for (let k = 0, next = 0; k < killCount && performance.now() < deadline; k++) {
    if (next < n) {
      const slice = w.keys(next, Math.min(perKill, n - next));
      next += slice.length;
      await w.create(slice);
    }
    // Random points of its work, not of its start-up: from the moment its caches are synced (readyz).
    await timeUntil(() => operator.ready(), 30_000);
    await delay(Math.floor(Math.random() * 1_500));
    await operator.kill('SIGKILL');
    lastRestart = performance.now();
    await w.writeRows();
    if (k % 10 === 9) {
      const ready = w.readyKeys().filter((key) => w.rows.has(key));
      await w.delete(ready.slice(0, Math.ceil(ready.length / 10)));
      progress(`kills: ${k + 1}/${killCount} kills, ${w.live.size} live, ${w.readyKeys().length} Ready`);
    }
  }
  progress(
    `kills: ${operator.kills} kills in ${((performance.now() - started) / 1000).toFixed(0)} s; converging`,
  );
  const converged = await w.converge(120_000, lastRestart);
  await w.writeRows();
  stage.add(
    'kills (SIGKILL at random points)',
    String(operator.kills),
    '≥ 100 for 300',
    operator.kills >= 100,
  );
  stage.add('workspaces created / deleted', `${w.live.size + w.deleted.size} / ${w.deleted.size}`);
  stage.addBooks(converged, 10);
  return stage.finish();
}

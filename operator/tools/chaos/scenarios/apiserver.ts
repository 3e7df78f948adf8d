import { delay, progress, seconds } from '../../bench/common.js';
import { Stage, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { watchedReplica } from './leader.js';

const WATCH_TIMEOUT_S = 20;

/**
 * The API server's faults: kube-apiserver stopped for 10 s during a burst and started again (same port, same
 * etcd); then, through a proxy in front of the operator alone, watches that go silent (a dead connection) and
 * watches answered with 410 Gone; and the operator itself down while workspaces are deleted. Every workspace
 * deleted meanwhile must be cleaned up (no missed deletes).
 */
export async function apiserver(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.workspaces;
  const stage = new Stage(ctx, 'apiserver', 'kapi', Math.max(1, Math.ceil(n / 30)));
  await stage.begin();
  const w = stage.workload;
  const watched = await watchedReplica(stage, 'op', { WATCH_TIMEOUT_SECONDS: String(WATCH_TIMEOUT_S) });
  const operator = watched.replica;
  try {
    await operator.start();
    await w.createAccounts();
    const quarter = Math.max(1, Math.floor(n / 4));
    let from = 0;
    const nextKeys = (count: number) => {
      const keys = w.keys(from, count);
      from += count;
      return keys;
    };
    const deleteSome = async () => {
      const ready = w.readyKeys().filter((k) => w.rows.has(k));
      await w.delete(ready.slice(0, Math.max(1, Math.ceil(ready.length / 4))));
    };

    // kube-apiserver restart during a burst.
    const restartKeys = nextKeys(quarter);
    await w.create(restartKeys.slice(0, Math.ceil(quarter / 2)));
    await delay(500);
    progress('apiserver: stopping kube-apiserver for 10 s');
    await ctx.platform.controlPlane.stopApiServer('SIGTERM');
    const creating = w.create(restartKeys.slice(Math.ceil(quarter / 2)));
    await delay(10_000);
    await ctx.platform.controlPlane.startApiServer();
    const back = performance.now();
    await creating;
    const c1 = await w.converge(120_000, back);
    await w.writeRows();
    stage.add(
      'kube-apiserver restart: converged after its return',
      seconds(c1.ms),
      '≤ 30 s',
      c1.ms <= 30_000,
    );

    // Silent watches: deletes and creates the operator's watches do not deliver.
    progress('apiserver: silent watches');
    watched.api.silenceWatches();
    const silentAt = performance.now();
    await deleteSome();
    await w.create(nextKeys(quarter));
    await delay(5_000);
    watched.api.pass();
    const c2 = await w.converge(180_000, silentAt);
    await w.writeRows();
    stage.add(
      `silent watches: deletes and creates handled after`,
      seconds(c2.ms),
      `≤ ${WATCH_TIMEOUT_S + 30} s (watch timeout + 30 s)`,
      c2.ms <= (WATCH_TIMEOUT_S + 30) * 1000,
    );

    // 410 Gone on every watch for 5 s.
    progress('apiserver: watches answered with 410 Gone');
    const goneAt = performance.now();
    watched.api.expireWatches();
    await deleteSome();
    await w.create(nextKeys(quarter));
    await delay(5_000);
    const lists = watched.api.requests.filter(
      (r) => r.at >= goneAt && r.method === 'GET' && !/[?&]watch=/.test(r.path),
    );
    watched.api.pass();
    const c3 = await w.converge(120_000, goneAt);
    await w.writeRows();
    stage.add('410 Gone: deletes and creates handled after', seconds(c3.ms), '≤ 30 s', c3.ms <= 30_000);
    stage.add('410 Gone: lists during 5 s of 410s', String(lists.length), 'bounded (backoff)');

    // The operator down while workspaces are deleted.
    progress('apiserver: deletes while the operator is down');
    await operator.down();
    await deleteSome();
    await w.create(nextKeys(n - from));
    await delay(3_000);
    await operator.start();
    const restarted = performance.now();
    const c4 = await w.converge(120_000, restarted);
    await w.writeRows();
    stage.add(
      'deleted while the operator was down: cleaned up after restart',
      seconds(c4.ms),
      '≤ 10 s',
      c4.ms <= 10_000,
    );
    stage.add('workspaces deleted during the faults', String(w.deleted.size));
    stage.addBooks(c4, 30);
    return await stage.finish();
  } finally {
    await watched.stop();
  }
}

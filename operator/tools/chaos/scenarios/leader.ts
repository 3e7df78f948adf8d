import { Resources } from '../../../src/kube/resources.js';
import { delay, progress, seconds } from '../../bench/common.js';
import { watchedReplica as watchedReplicaOf, type Watched } from '../watched.js';
import { Stage, timeUntil, type ScenarioContext, type ScenarioResult } from '../scenario.js';

/** A watched replica of the stage's operator (its figures count in the stage's books). */
export async function watchedReplica(
  stage: Stage,
  name: string,
  env: Record<string, string> = {},
): Promise<Watched> {
  const { platform } = stage.ctx;
  const watched = await watchedReplicaOf({
    runDir: platform.runDir,
    name: `${stage.name}-${name}`,
    adminKubeconfig: platform.controlPlane.kubeconfigPath,
    databaseUrl: platform.postgres.operatorUrl,
    env: stage.env(env),
  });
  stage.replicas.push(watched.replica);
  return watched;
}

export async function leaseHolder(stage: Stage): Promise<string | undefined> {
  const lease = (await stage.ctx.platform.api.get(Resources.Lease, {
    namespace: stage.leaseNamespace,
    name: `chaos-${stage.scenario}`,
  })) as { spec?: { holderIdentity?: string | null } } | undefined;
  return lease?.spec?.holderIdentity ?? undefined;
}

/**
 * Two replicas with leader election at its default timing (15 s Lease, 10 s renew deadline, 2 s retry): the leader
 * is SIGKILLed during a burst, then SIGSTOPped during another; the paused one is resumed after the other took the
 * Lease and everything converged, and whatever it sends from then on (API writes, SQL) is counted at its proxies.
 */
export async function leader(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.workspaces;
  const stage = new Stage(ctx, 'leader', 'lead', Math.max(1, Math.ceil(n / 30)));
  await stage.begin();
  const w = stage.workload;
  const replicas = [await watchedReplica(stage, 'a'), await watchedReplica(stage, 'b')];
  try {
    for (const r of replicas) await r.replica.start();
    await w.createAccounts();
    const byName = (holder: string | undefined) =>
      replicas.find((r) => holder === `leader-${r === replicas[0] ? 'a' : 'b'}`);
    const half = Math.ceil(n / 2);

    // SIGKILL: the Lease is not released, the other replica waits it out.
    const first = w.keys(0, half);
    await w.create(first.slice(0, Math.ceil(half / 3)));
    await w.converge(120_000);
    await w.writeRows();
    const killedName = await leaseHolder(stage);
    const killed = byName(killedName);
    if (!killed) throw new Error(`no leader among the replicas (Lease holder ${killedName})`);
    const creating = w.create(first.slice(Math.ceil(half / 3)));
    await delay(300);
    const killedAt = performance.now();
    // Gone for good (its node failed): the other replica must wait the Lease out and take over.
    await killed.replica.down();
    const takeover = await timeUntil(async () => {
      const h = await leaseHolder(stage);
      return h !== undefined && h !== killedName;
    }, 60_000);
    await creating;
    const c1 = await w.converge(120_000, killedAt);
    await w.writeRows();
    stage.add('SIGKILL: new leader after', seconds(takeover), '≤ 20 s', takeover <= 20_000);
    stage.add('SIGKILL: converged after the kill', seconds(c1.ms), '≤ 30 s', c1.ms <= 30_000);
    await killed.replica.start();

    // SIGSTOP: the paused leader must not write once it comes back without the Lease.
    const second = w.keys(half, n - half);
    await w.create(second.slice(0, Math.ceil((n - half) / 3)));
    const pausedName = await leaseHolder(stage);
    const paused = byName(pausedName);
    if (!paused) throw new Error(`no leader among the replicas (Lease holder ${pausedName})`);
    const creating2 = w.create(second.slice(Math.ceil((n - half) / 3)));
    await delay(300);
    const pausedAt = performance.now();
    paused.replica.pause();
    const takeover2 = await timeUntil(async () => {
      const h = await leaseHolder(stage);
      return h !== undefined && h !== pausedName;
    }, 60_000);
    await creating2;
    const c2 = await w.converge(120_000, pausedAt);
    await w.writeRows();
    stage.add('SIGSTOP: new leader after', seconds(takeover2), '≤ 20 s', takeover2 <= 20_000);
    stage.add('SIGSTOP: converged after the pause', seconds(c2.ms), '≤ 30 s', c2.ms <= 30_000);
    await delay(2_000);
    const resumedAt = performance.now();
    progress('leader: resuming the paused leader');
    paused.replica.resume();
    const code = await paused.replica.exitWithin(20_000);
    await delay(1_000);
    const writes = paused.api.writesSince(resumedAt);
    const sql = paused.sql.since(resumedAt);
    stage.add(
      'resumed ex-leader: exit code',
      code === undefined ? 'still running' : String(code),
      'exits (lost Lease)',
    );
    stage.add(
      'resumed ex-leader: API writes started after resume',
      String(writes.started.length),
      '0',
      writes.started.length === 0,
    );
    stage.add(
      'resumed ex-leader: writes sent before the pause, delivered after',
      String(writes.inFlight.length),
    );
    stage.add('resumed ex-leader: SQL statements / DDL', `${sql.all} / ${sql.ddl}`, '0 DDL', sql.ddl === 0);
    for (const x of [...writes.started, ...writes.inFlight].slice(0, 3))
      stage.notes.push(`write after resume: ${x.method} ${x.path.slice(0, 120)}`);
    for (const x of sql.examples) stage.notes.push(`DDL after resume: ${x}`);
    if (code !== undefined) await paused.replica.start();
    const c3 = await w.converge(120_000);
    stage.addBooks(c3, 30);
    return await stage.finish();
  } finally {
    for (const r of replicas) await r.stop();
  }
}

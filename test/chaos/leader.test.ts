import { describe, expect, it } from 'vitest';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Watched } from '../../operator/tools/chaos/watched.js';
import { eventually } from '../support/env.js';
import { chaosFile } from './support.js';

const file = chaosFile('chaos-lead', 'tlead');
const replicas: Watched[] = [];

async function holder(): Promise<string | undefined> {
  const { api, fx } = file;
  const lease = (await api.get(Resources.Lease, {
    namespace: fx.leaseNamespace,
    name: fx.env.LEADER_ELECTION_ID ?? '',
  })) as { spec?: { holderIdentity?: string | null } } | undefined;
  return lease?.spec?.holderIdentity ?? undefined;
}

describe('a leader paused (SIGSTOP) until its Lease expired', () => {
  it(
    'sends no API write and no DDL once resumed, and exits; the other replica converged meanwhile',
    { timeout: 120_000 },
    async () => {
      const { fx } = file;
      const w = fx.workload;
      for (const name of ['a', 'b']) {
        const r = await file.watched(name);
        replicas.push(r);
        await r.replica.start();
      }
      await w.createAccounts();
      await w.create(w.keys(0, 3));
      expect(Number.isFinite((await w.converge(60_000)).ms)).toBe(true);
      const leaderName = await eventually('a leader', holder);
      const leader = replicas.find((r) => leaderName === `${fx.scenario}-${r === replicas[0] ? 'a' : 'b'}`);
      expect(leader).toBeDefined();
      if (!leader) return;

      // Paused with work in flight: creates it has seen and not finished.
      await w.create(w.keys(3, 6));
      leader.replica.pause();
      await eventually('the other replica to take the Lease', async () => {
        const h = await holder();
        return h && h !== leaderName ? h : undefined;
      });
      const converged = await w.converge(60_000);
      expect(converged.notReady).toBe(0);

      const resumedAt = performance.now();
      leader.replica.resume();
      const code = await leader.replica.exitWithin(15_000);
      await new Promise((r) => setTimeout(r, 500));
      // A request it had handed to a connection before the pause may arrive after it, one per connection at most
      // (see writesSince); nothing may be started after it, though its reconciles run and retry on resume.
      expect(leader.api.writesSince(resumedAt).started.map((r) => `${r.method} ${r.path}`)).toEqual([]);
      expect(leader.sql.since(resumedAt).ddl).toBe(0);
      // It noticed it lost the Lease and left, as controller-runtime's managers do.
      expect(code).toBe(1);
      const after = await w.converge(30_000);
      expect(after.orphans).toEqual({ schemas: 0, roles: 0, namespaces: 0, missing: 0 });
    },
  );
});

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { Replica } from '../../operator/tools/chaos/replica.js';
import { totalOrphans } from '../../operator/tools/chaos/workload.js';
import { adminApi } from '../support/env.js';
import { SOURCE_ENTRY, chaosFixture, type ChaosFixture } from './support.js';

let api: Api;
let fx: ChaosFixture;
let operator: Replica | undefined;

beforeAll(async () => {
  api = await adminApi();
  fx = await chaosFixture(api, 'chaos-kill', 'tkill');
});

afterAll(async () => {
  await operator?.stop();
  await fx.workload.stop();
  await api.delete(Resources.Namespace, { name: fx.leaseNamespace });
  api.client.close();
});

describe('an operator SIGKILLed at random points of a burst', () => {
  it(
    'converges with every workspace Ready, no orphans either way and no rows lost',
    { timeout: 150_000 },
    async () => {
      const w = fx.workload;
      operator = new Replica({
        runDir: inject('runDir'),
        name: fx.scenario,
        kubeconfig: inject('kubeconfig'),
        databaseUrl: inject('databaseUrl'),
        env: fx.env,
        entry: SOURCE_ENTRY,
      });
      await operator.start();
      await w.createAccounts();
      const keys = w.keys(0, 20);
      for (let k = 0; k < 5; k++) {
        await w.create(keys.slice(k * 4, k * 4 + 4));
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1_500)));
        await operator.kill('SIGKILL');
        await w.writeRows();
        if (k === 2)
          await w.delete(
            w
              .readyKeys()
              .filter((key) => w.rows.has(key))
              .slice(0, 2),
          );
      }
      const converged = await w.converge(90_000);
      await w.writeRows();
      expect(operator.kills).toBe(5);
      expect(operator.crashReasons).toEqual([]);
      expect(converged.notReady).toBe(0);
      expect(converged.notGone).toBe(0);
      expect(totalOrphans(converged.orphans)).toBe(0);
      expect(Number.isFinite(converged.ms)).toBe(true);
      expect(w.rows.size).toBeGreaterThan(0);
      expect(await w.rowsLost()).toBe(0);
      expect(w.stalled.size).toBe(0);
    },
  );
});

import { describe, expect, it } from 'vitest';
import { totalOrphans } from '../../operator/tools/chaos/workload.js';
import { chaosFile } from './support.js';

const file = chaosFile('chaos-kill', 'tkill');

describe('an operator SIGKILLed at random points of a burst', () => {
  it(
    'converges with every workspace Ready, no orphans either way and no rows lost',
    { timeout: 150_000 },
    async () => {
      const w = file.fx.workload;
      const operator = file.replica('op');
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

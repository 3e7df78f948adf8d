import { describe, expect, it } from 'vitest';
import { totalOrphans } from '../../operator/tools/chaos/workload.js';
import { eventually } from '../support/env.js';
import { chaosFile } from './support.js';

const file = chaosFile('chaos-del', 'tdel');

describe('workspaces deleted while the operator could not see it', () => {
  it(
    'are cleaned up after its restart, after watches answered 410 Gone and after they went silent, and the others keep their rows',
    { timeout: 120_000 },
    async () => {
      const w = file.fx.workload;
      const watched = await file.watched('op', { WATCH_IDLE_SECONDS: '5' });
      const operator = watched.replica;
      await operator.start();
      await w.createAccounts();
      await w.create(w.keys(0, 6));
      expect(Number.isFinite((await w.converge(60_000)).ms)).toBe(true);
      await w.writeRows();
      expect(w.rows.size).toBe(6);

      // Down: deletes and a create it never saw happen.
      await operator.down();
      await w.delete(w.keys(0, 2));
      await w.create(w.keys(6, 1));
      await operator.start();
      const afterRestart = await w.converge(60_000);
      expect(afterRestart.notGone).toBe(0);
      expect(totalOrphans(afterRestart.orphans)).toBe(0);

      // 410 Gone on every watch while a workspace is deleted: it re-lists and still sees the deletion.
      watched.api.expireWatches();
      await w.delete(w.keys(2, 1));
      await new Promise((r) => setTimeout(r, 1_000));
      watched.api.pass();
      const afterGone = await w.converge(60_000);
      expect(afterGone.notGone).toBe(0);
      expect(totalOrphans(afterGone.orphans)).toBe(0);

      // Watches that stay open and go silent (a connection dropped without a FIN): the informers take them for
      // dead after WATCH_IDLE_SECONDS, open new ones and see the deletion made meanwhile.
      // Once every informer watches again (those that saw 410 twice in a row back off before they list).
      await eventually('every collection watched again', async () => {
        const { open, collections } = watched.api.watchCounts();
        return open >= collections || undefined;
      });
      watched.api.silenceWatches();
      await new Promise((r) => setTimeout(r, 500));
      watched.api.pass();
      await w.delete(w.keys(3, 1));
      const afterSilence = await w.converge(60_000);
      expect(afterSilence.notGone).toBe(0);
      expect(totalOrphans(afterSilence.orphans)).toBe(0);
      expect(await w.rowsLost()).toBe(0);
      expect(operator.crashReasons).toEqual([]);
    },
  );
});

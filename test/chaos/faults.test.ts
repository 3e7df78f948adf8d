import { describe, expect, it } from 'vitest';
import { totalOrphans } from '../../operator/tools/chaos/workload.js';
import { chaosFile } from './support.js';

/**
 * Short forms of `npm run chaos`'s apiserver and pgslow scenarios (issue 10), on the shared test platform: the
 * operator reaches the API server and PostgreSQL through proxies of its own, which drop, slow and freeze its
 * traffic while workspaces are created. Outcomes are asserted, not timings: it never crashes, everything
 * converges once the fault ends, nothing is orphaned and no row is lost.
 */

const file = chaosFile('chaos-flt', 'tflt');

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults between the operator and its dependencies', () => {
  it(
    'an API server that drops every connection, and a PostgreSQL slow or frozen: no crash, all converge, no row lost',
    { timeout: 240_000 },
    async () => {
      const w = file.fx.workload;
      // Short server-side timeouts, so that a frozen connection fails within seconds, as it would in minutes.
      const watched = await file.watched('op', {
        DATABASE_STATEMENT_TIMEOUT_SECONDS: '3',
        DATABASE_LOCK_TIMEOUT_SECONDS: '2',
      });
      const operator = watched.replica;
      await operator.start();
      await w.createAccounts();
      await w.create(w.keys(0, 4));
      expect(Number.isFinite((await w.converge(60_000)).ms)).toBe(true);
      await w.writeRows();

      // The API server goes away (as in a restart) while workspaces are created and one is deleted.
      watched.api.down();
      await w.create(w.keys(4, 3));
      await w.delete(w.keys(0, 1));
      await pause(6_000);
      watched.api.pass();
      const afterApi = await w.converge(90_000);
      expect(afterApi.notReady).toBe(0);
      expect(afterApi.notGone).toBe(0);
      expect(totalOrphans(afterApi.orphans)).toBe(0);

      // PostgreSQL 200 ms away per chunk, then not answering at all without closing.
      watched.db.slow(200);
      await w.create(w.keys(7, 2));
      const slow = await w.converge(90_000);
      expect(slow.notReady).toBe(0);
      await watched.db.restore();
      watched.db.freeze();
      await w.create(w.keys(9, 2));
      await pause(6_000);
      await watched.db.restore();
      const afterFreeze = await w.converge(120_000);
      expect(afterFreeze.notReady).toBe(0);
      expect(totalOrphans(afterFreeze.orphans)).toBe(0);

      expect(await w.rowsLost()).toBe(0);
      expect(operator.crashReasons).toEqual([]);
      expect(operator.crashes).toBe(0);
    },
  );
});

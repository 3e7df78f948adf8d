import type { TenantInventory } from '../db/inventory.js';
import { errorMessage } from '../errors.js';
import { sleep } from '../kube/informer.js';
import type { Logger } from '../log.js';

/**
 * Now and then, on the leader, the tenant inventory is read again from PostgreSQL, and the checks the kinds
 * registered look for drift against it (a workspace whose schema or role disappeared, objects left behind).
 */
export class DriftChecks {
  private readonly checks: (() => void)[] = [];

  constructor(
    private readonly inventory: Pick<TenantInventory, 'isLoaded' | 'refresh'>,
    private readonly opts: { intervalMs: number; isLeader: () => boolean; log: Logger },
  ) {}

  add(check: () => void): void {
    this.checks.push(check);
  }

  async run(signal: AbortSignal): Promise<void> {
    for (;;) {
      await sleep(this.opts.intervalMs, signal);
      if (signal.aborted) return;
      if (!this.opts.isLeader() || !this.inventory.isLoaded) continue;
      try {
        await this.inventory.refresh();
        for (const check of this.checks) check();
      } catch (err) {
        this.opts.log.warn({ err: errorMessage(err) }, 'drift check failed');
      }
    }
  }
}

import type { Controller } from '../../kube/controller.js';
import type { SetupContext } from '../context.js';
import type { OrphanReport } from './orphans.js';

/** How long after a Workspace deletion the operator looks for what it may have left behind. */
const ORPHAN_SCAN_DELAY_MS = 2_000;

/**
 * When to look for what deleted workspaces left behind: once the events of a burst of deletions have settled, when a
 * workspace comes back under a name that has findings (it adopts them), with every drift check, and when the
 * controllers start. The accounts whose findings changed reconcile again to report them.
 */
export class OrphanScan {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly report: OrphanReport,
    private readonly accounts: Controller,
    private readonly mgr: Pick<SetupContext, 'caches' | 'inventory' | 'metrics' | 'synced' | 'signal'>,
  ) {
    mgr.signal.addEventListener('abort', () => clearTimeout(this.timer));
  }

  watch(): void {
    this.mgr.caches.workspaces.on({
      add: (w) => {
        if (w.metadata.namespace && this.report.of(w.metadata.namespace).length > 0) this.soon();
      },
      delete: () => this.soon(),
    });
  }

  soon(delayMs = ORPHAN_SCAN_DELAY_MS): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.now();
    }, delayMs);
  }

  now(): void {
    if (!this.mgr.synced() || !this.mgr.inventory.isLoaded) return;
    for (const account of this.report.scan()) this.accounts.enqueue(account);
    for (const [kind, n] of Object.entries(this.report.counts())) this.mgr.metrics.orphans.set({ kind }, n);
  }
}

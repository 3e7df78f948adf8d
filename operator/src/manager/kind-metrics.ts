import { InvitationPhase } from '../api/v1alpha1/clientinvitation.js';
import { WorkspacePhase } from '../api/v1alpha1/workspace.js';
import { Reason, Stalled } from '../api/conditions.js';
import type { Caches, WorkspaceObject } from '../caches.js';
import { keyOf, type Informer } from '../kube/informer.js';
import type { DomainSources, Metrics } from '../metrics.js';

/** The label of an object without a phase yet (its first status not written). */
export const UNKNOWN_PHASE = 'Unknown';
/** The label of a Stalled reason the operator does not write: a label takes only known values. */
export const OTHER_REASON = 'Other';

const KNOWN_REASONS = new Set<string>(Object.values(Reason));

interface WithStatus {
  status?: {
    phase?: string | undefined;
    conditions?: { type: string; status: string; reason: string }[] | undefined;
  };
}

/** Objects per phase: every known phase is present (0 when none), so a dashboard's series never vanish. */
export function countPhases(
  objects: Iterable<WithStatus>,
  phases: readonly string[],
): Record<string, number> {
  const counts: Record<string, number> = { [UNKNOWN_PHASE]: 0 };
  for (const p of phases) counts[p] = 0;
  for (const o of objects) {
    const phase = o.status?.phase;
    const label = phase !== undefined && phase in counts ? phase : UNKNOWN_PHASE;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

/** Objects whose Stalled condition is True, per reason (bounded: unknown reasons count as Other). */
export function countStalled(kind: string, objects: Iterable<WithStatus>): Map<string, number> {
  const byReason = new Map<string, number>();
  for (const o of objects) {
    const stalled = o.status?.conditions?.find((c) => c.type === Stalled && c.status === 'True');
    if (!stalled) continue;
    const reason = KNOWN_REASONS.has(stalled.reason) ? stalled.reason : OTHER_REASON;
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  return byReason;
}

/** The gauges of the operator's kinds, computed from the caches when Prometheus scrapes (no work in between). */
export function kindSources(caches: Caches): DomainSources {
  return {
    workspacePhases: () => countPhases(caches.workspaces.list(), WorkspacePhase.options),
    invitationPhases: () => countPhases(caches.invitations.list(), InvitationPhase.options),
    stalled: () => {
      const kinds: [string, Iterable<WithStatus>][] = [
        ['Account', caches.accounts.list()],
        ['Workspace', caches.workspaces.list()],
        ['ClientInvitation', caches.invitations.list()],
        ['Connection', caches.connections.list()],
      ];
      return kinds.flatMap(([kind, objects]) =>
        [...countStalled(kind, objects)].map(([reason, count]) => ({ kind, reason, count })),
      );
    },
  };
}

/** At most this many workspaces are timed at once; more (a burst beyond it) go untimed rather than grow memory. */
export const MAX_TIMED_WORKSPACES = 20_000;

/**
 * Times provisioning: from the moment a new Workspace arrives in the cache (after the first list: those that
 * existed before this replica started are not timed) until the cache shows it Ready. Every replica keeps the
 * start times, so a new leader carries on; only the leader observes, so the histogram counts each workspace once.
 */
export class ProvisioningTimer {
  private readonly started = new Map<string, number>();

  constructor(
    private readonly metrics: Metrics,
    private readonly isLeader: () => boolean,
    private readonly now: () => number = () => performance.now(),
  ) {}

  watch(workspaces: Informer<WorkspaceObject>): void {
    workspaces.on({
      add: (obj) => {
        if (workspaces.hasSynced) this.seen(obj);
      },
      update: (_, obj) => this.seen(obj),
      delete: (obj) => this.started.delete(keyOf(obj)),
    });
  }

  /** What the cache shows of a workspace now. */
  seen(obj: WorkspaceObject): void {
    const key = keyOf(obj);
    if (obj.status?.phase === 'Ready') {
      const at = this.started.get(key);
      if (at === undefined) return;
      this.started.delete(key);
      if (this.isLeader()) this.metrics.provisioningSeconds.observe((this.now() - at) / 1000);
    } else if (
      !this.started.has(key) &&
      obj.metadata.deletionTimestamp === undefined &&
      obj.status?.phase === undefined &&
      this.started.size < MAX_TIMED_WORKSPACES
    ) {
      this.started.set(key, this.now());
    }
  }

  get timing(): number {
    return this.started.size;
  }
}

import { plural } from '../api/text.js';
import type { ServerState } from '../api/v1alpha1/databaseserver.js';

/** A server as placement sees it. */
export interface Candidate {
  name: string;
  state: ServerState;
  capacity: number;
  /** Workspaces placed on it now. */
  placed: number;
  labels: Record<string, string>;
  /** The operator reached it at its last look (and has its tenant inventory). */
  reachable: boolean;
}

export type Placement = { ok: true; server: string } | { ok: false; message: string };

const matches = (labels: Record<string, string>, selector: Record<string, string> | undefined) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

/**
 * Where a new workspace goes: an Active, reachable server with room that carries the account's labels, the least
 * filled first (placed over capacity; ties by name, so two replicas that ever computed it would agree). None with
 * room: the reason, for the workspace's condition.
 */
export function choosePlacement(
  candidates: readonly Candidate[],
  selector: Record<string, string> | undefined,
): Placement {
  const eligible = candidates.filter((c) => matches(c.labels, selector));
  const open = eligible.filter((c) => c.state === 'Active' && c.reachable && c.placed < c.capacity);
  const best = open.sort(
    (a, b) => a.placed / a.capacity - b.placed / b.capacity || a.name.localeCompare(b.name),
  )[0];
  if (best) return { ok: true, server: best.name };
  const wanted =
    selector && Object.keys(selector).length > 0
      ? ` carrying ${Object.entries(selector)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`
      : '';
  if (eligible.length === 0)
    return { ok: false, message: `no DatabaseServer${wanted} exists; waiting for one` };
  const why = eligible
    .map((c) =>
      c.state !== 'Active'
        ? `${c.name} is ${c.state}`
        : !c.reachable
          ? `${c.name} is not reachable`
          : `${c.name} is full (${c.placed} of ${plural(c.capacity, 'workspace')})`,
    )
    .join('; ');
  return { ok: false, message: `no DatabaseServer${wanted} takes new workspaces: ${why}; waiting for room` };
}

/** What the placement index reads of a workspace: its name and where its status says it is placed. */
interface PlacedWorkspace {
  metadata: { name: string; namespace?: string };
  status?: { databaseServer?: string; database?: unknown } | undefined;
}

/**
 * How many workspaces each server holds, kept from the workspace cache's events, so that a placement among 10,000
 * workspaces is a map lookup, not a scan. A workspace provisioned before servers were placed (status.database
 * without databaseServer) counts on the default server.
 */
export class PlacementIndex {
  private readonly where = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly defaultServer: string) {}

  private serverOf(w: PlacedWorkspace): string | undefined {
    return w.status?.databaseServer ?? (w.status?.database !== undefined ? this.defaultServer : undefined);
  }

  /** Follows one workspace's version (undefined: it is gone). */
  observe(key: string, w: PlacedWorkspace | undefined): void {
    const before = this.where.get(key);
    const after = w ? this.serverOf(w) : undefined;
    if (before === after) return;
    if (before !== undefined) this.counts.set(before, (this.counts.get(before) ?? 1) - 1);
    if (after !== undefined) {
      this.counts.set(after, (this.counts.get(after) ?? 0) + 1);
      this.where.set(key, after);
    } else this.where.delete(key);
  }

  placed(server: string): number {
    return this.counts.get(server) ?? 0;
  }
}

import { DEFAULT_SERVER } from '../../api/v1alpha1/databaseserver.js';
import type { AccountObject, WorkspaceObject } from '../../caches.js';
import type { TenantNames } from '../../db/names.js';
import type { Server } from '../../db/servers.js';
import { choosePlacement, type Candidate } from '../../domain/placement.js';
import type { ControllerContext } from '../context.js';

export type ServerChoice =
  /** The server the workspace is on (or was placed on just now: `placed`). */
  | { ok: true; server: Server; placed: boolean }
  | { ok: false; reason: 'NoDatabaseServer' | 'DatabaseServerNotOpen'; message: string };

/** The servers placement may choose from: the default one (tuned by a DatabaseServer named default) and the rest. */
export function candidates(ctx: ControllerContext): Candidate[] {
  const out: Candidate[] = [];
  const tuned = ctx.caches.databaseServers.get(DEFAULT_SERVER);
  if (!tuned) {
    out.push({
      name: DEFAULT_SERVER,
      state: 'Active',
      capacity: ctx.config.database.defaultCapacity,
      placed: ctx.placement.placed(DEFAULT_SERVER),
      labels: {},
      reachable: true,
    });
  }
  for (const s of ctx.caches.databaseServers.list()) {
    if (!s.spec || s.metadata.deletionTimestamp) continue;
    const name = s.metadata.name;
    out.push({
      name,
      state: s.spec.state,
      capacity: s.spec.capacity,
      placed: ctx.placement.placed(name),
      labels: s.metadata.labels ?? {},
      reachable: ctx.servers.get(name) !== undefined && s.status?.reachable !== false,
    });
  }
  return out;
}

/**
 * Where the workspace's schema and role live. Recorded in status once chosen, and never chosen again: a workspace
 * that already exists on a server (its status lost, say) is found there through the servers' inventories, which is
 * why nothing is placed before every server's inventory is loaded. A workspace provisioned before servers were
 * placed is on the default server.
 */
export function serverFor(
  ctx: ControllerContext,
  obj: WorkspaceObject,
  account: AccountObject,
  names: TenantNames,
): ServerChoice {
  const recorded = obj.status?.databaseServer;
  if (recorded !== undefined) {
    const server = ctx.servers.get(recorded);
    return server
      ? { ok: true, server, placed: false }
      : {
          ok: false,
          reason: 'DatabaseServerNotOpen',
          message: `DatabaseServer ${recorded}, where the workspace is placed, is not open yet (see kubectl get databaseserver ${recorded})`,
        };
  }
  if (!ctx.servers.allLoaded) {
    return {
      ok: false,
      reason: 'DatabaseServerNotOpen',
      message: 'Waiting for the tenant inventory of every DatabaseServer',
    };
  }
  const found = ctx.servers.locate(names);
  if (found) return { ok: true, server: found, placed: true };
  if (obj.status?.database !== undefined) return { ok: true, server: ctx.servers.primary, placed: true };
  const choice = choosePlacement(candidates(ctx), account.spec?.databaseServerSelector?.matchLabels);
  if (!choice.ok) return { ok: false, reason: 'NoDatabaseServer', message: choice.message };
  const server = ctx.servers.get(choice.server);
  return server
    ? { ok: true, server, placed: true }
    : {
        ok: false,
        reason: 'DatabaseServerNotOpen',
        message: `DatabaseServer ${choice.server} is not open yet`,
      };
}

/** The server a workspace being deleted is on; undefined when it was never placed (nothing to drop). */
export function serverOfDeleted(
  ctx: ControllerContext,
  obj: WorkspaceObject,
  names: TenantNames,
): Server | 'not-open' | undefined {
  const recorded = obj.status?.databaseServer;
  if (recorded !== undefined) return ctx.servers.get(recorded) ?? 'not-open';
  return ctx.servers.locate(names) ?? ctx.servers.primary;
}

import { Reason, progressingConditions } from '../../api/conditions.js';
import { Annotations } from '../../api/v1alpha1/group.js';
import type { WorkspaceStatus } from '../../api/v1alpha1/workspace.js';
import type { AccountObject, WorkspaceObject } from '../../caches.js';
import { copyTenant } from '../../db/copy.js';
import type { TenantNames } from '../../db/names.js';
import type { Server } from '../../db/servers.js';
import { SECRET_NAME } from '../../domain/children.js';
import { choosePlacement } from '../../domain/placement.js';
import { OperatorError, errorMessage } from '../../errors.js';
import { ensure } from '../../kube/apply.js';
import { keyOf } from '../../kube/informer.js';
import type { Result } from '../../kube/controller.js';
import { Resources } from '../../kube/resources.js';
import type { StatusWriter } from '../../kube/status.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import type { Place } from './access.js';
import { credentialsSecret, passwordOf } from './desired.js';
import { candidates } from './placement.js';

type Move = NonNullable<WorkspaceStatus['move']>;

/**
 * Where the workspace is to be moved, if anywhere: the server its move-to annotation names, or, when its server is
 * Draining, the one placement would choose among the others. `wait` says why a drain has nowhere to go.
 */
export function moveTarget(
  ctx: ControllerContext,
  obj: WorkspaceObject,
  current: Server,
  account: AccountObject,
): { to: string } | { wait: string } | undefined {
  const asked = obj.metadata.annotations?.[Annotations.moveTo];
  if (asked !== undefined && asked !== '' && asked !== current.name) {
    // A draining server would send it straight back: the annotation waits until that server is not draining.
    if (ctx.caches.databaseServers.get(asked)?.spec?.state === 'Draining') {
      return { wait: `${Annotations.moveTo} names ${asked}, which is draining` };
    }
    return { to: asked };
  }
  if (ctx.caches.databaseServers.get(current.name)?.spec?.state !== 'Draining') return undefined;
  const others = candidates(ctx).filter((c) => c.name !== current.name);
  const choice = choosePlacement(others, account.spec?.databaseServerSelector?.matchLabels);
  return choice.ok
    ? { to: choice.server }
    : { wait: `server ${current.name} is draining, but ${choice.message}` };
}

const sum = (rows: Map<string, number>) => [...rows.values()].reduce((a, b) => a + b, 0);

function sameRows(a: Map<string, number>, b: Map<string, number>): string | undefined {
  for (const [table, n] of a)
    if (b.get(table) !== n)
      return `table ${table}: ${n} rows on the source, ${b.get(table) ?? 'none'} on the target`;
  for (const table of b.keys()) if (!a.has(table)) return `table ${table} is on the target only`;
  return undefined;
}

/**
 * A move to another server, in three phases recorded in status, each one safe to run again after a crash:
 * Copying (the source refuses the client's logins and ends its sessions; the target gets the role with the same
 * password and a copy of schema and rows, counted on both sides), Switching (the Secret names the target, and the
 * workspace is placed there), Cleaning (the source's copy is dropped). Until Switching, the source is whole and
 * a failure rolls back to it: logins come back, the target's partial copy goes. Writes are refused, with the
 * server's "not permitted to log in", only between the start of Copying and the Secret's switch.
 */
export class Mover {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly status: StatusWriter<WorkspaceObject>,
  ) {}

  /**
   * Moves this replica started and has not finished: with several workers, two moves can start before either's
   * status reaches the cache, so the count must not wait for it.
   */
  private readonly started = new Set<string>();

  /** Moves under way across every account: one starts only while fewer than the configured number run. */
  private inFlight(): number {
    const keys = new Set(this.started);
    for (const w of this.ctx.caches.workspaces.list()) if (w.status?.move) keys.add(keyOf(w));
    return keys.size;
  }

  async run(
    obj: WorkspaceObject,
    place: Place,
    names: TenantNames,
    current: Server,
    target: string | undefined,
    log: Logger,
  ): Promise<Result | void> {
    const { ctx } = this;
    let m: Move | undefined = obj.status?.move;
    if (!m) {
      if (target === undefined) return;
      const wait = (message: string) =>
        this.status.write(obj, obj.status ?? {}, progressingConditions(Reason.Moving, message));
      if (this.inFlight() >= ctx.config.database.moveConcurrency) {
        await wait(
          `Waiting to move to ${target}: ${ctx.config.database.moveConcurrency} moves are under way`,
        );
        return { requeueAfterMs: 5_000 };
      }
      if (!ctx.servers.get(target)) {
        await wait(`Waiting to move to DatabaseServer ${target}, which is not open`);
        return { requeueAfterMs: 15_000 };
      }
      // Counted before the first await, so that a concurrent start sees it.
      this.started.add(keyOf(obj));
      m = { from: current.name, to: target, phase: 'Copying', startedAt: ctx.now().toISOString() };
      const message = `Moving to DatabaseServer ${target}: logins are refused while schema and rows are copied`;
      obj = (
        await this.status.write(
          obj,
          { ...obj.status, move: m },
          progressingConditions(Reason.Moving, message),
        )
      ).object;
      ctx.events.emit(obj, 'Normal', Reason.Moving, 'Move', message);
    }
    const from = ctx.servers.get(m.from);
    const to = ctx.servers.get(m.to);
    if (!from || !to) {
      const missing = !from ? m.from : m.to;
      await this.status.write(
        obj,
        obj.status ?? {},
        progressingConditions(Reason.Moving, `Waiting for DatabaseServer ${missing} to open`),
      );
      return { requeueAfterMs: 15_000 };
    }
    const password = passwordOf(ctx.caches.secrets.get(`${place.namespace}/${SECRET_NAME}`)?.data);
    if (password === undefined)
      throw new OperatorError('Internal', `the Secret ${SECRET_NAME} holds no password to move`);

    if (m.phase === 'Copying') {
      let rows: number;
      try {
        rows = await this.copy(names, from, to, password);
      } catch (err) {
        // The source is whole: it takes logins again, and the target's partial copy goes.
        await from.db
          .resumeTenant(names)
          .catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'resume failed'));
        await to.db
          .dropTenant(names)
          .catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'target clean-up failed'));
        const message = `Moving to ${m.to} failed and was rolled back; the workspace stays on ${m.from}: ${errorMessage(err)}`;
        await this.status.write(
          obj,
          { ...obj.status, move: undefined },
          progressingConditions(Reason.MoveFailed, message),
        );
        this.started.delete(keyOf(obj));
        ctx.events.emit(obj, 'Warning', Reason.MoveFailed, 'Move', message);
        throw err;
      }
      to.inventory.record(names);
      m = { ...m, phase: 'Switching', rows };
      obj = (
        await this.status.write(
          obj,
          { ...obj.status, move: m },
          progressingConditions(Reason.Moving, `Copied ${rows} rows to ${m.to}; switching the Secret`),
        )
      ).object;
    }
    if (m.phase === 'Switching') {
      // The password stays the one both roles have: a pending rotation waits for the next pass.
      const secret = credentialsSecret(
        place.namespace,
        place.account,
        place.slug,
        names,
        password,
        to.client,
      );
      await ensure(ctx.api, ctx.caches.secrets, Resources.Secret, secret);
      m = { ...m, phase: 'Cleaning' };
      obj = (
        await this.status.write(
          obj,
          { ...obj.status, databaseServer: m.to, move: m },
          progressingConditions(Reason.Moving, `On ${m.to}; dropping the copy on ${m.from}`),
        )
      ).object;
    }
    await from.db.dropTenant(names);
    from.inventory.forget(names);
    const seconds = ((ctx.now().getTime() - Date.parse(m.startedAt)) / 1000).toFixed(1);
    const note = `Moved from DatabaseServer ${m.from} to ${m.to}: ${m.rows ?? 0} rows; logins were refused for ${seconds} s`;
    await this.status.write(
      obj,
      { ...obj.status, databaseServer: m.to, move: undefined },
      progressingConditions(Reason.Provisioning, note),
    );
    this.started.delete(keyOf(obj));
    ctx.events.emit(obj, 'Normal', Reason.Moved, 'Move', note);
    log.info({ from: m.from, to: m.to, rows: m.rows }, 'workspace moved');
    return { requeueAfterMs: 1 };
  }

  /** The Copying phase; returns the rows copied. Run again after a crash, it starts the target over. */
  private async copy(names: TenantNames, from: Server, to: Server, password: string): Promise<number> {
    await to.db.dropTenant(names);
    await to.db.provisionTenant(names, password);
    await from.db.suspendTenant(names);
    await Promise.all([from.db.lendTenant(names, true), to.db.lendTenant(names, true)]);
    try {
      await copyTenant(names, from.url, to.url, this.ctx.config.database.toolsDir);
    } finally {
      await Promise.allSettled([from.db.lendTenant(names, false), to.db.lendTenant(names, false)]);
    }
    const [before, after] = await Promise.all([from.db.tableRows(names), to.db.tableRows(names)]);
    const differs = sameRows(before, after);
    if (differs) throw new OperatorError('Database', `the copy does not match the source: ${differs}`);
    return sum(before);
  }
}

import { isCode } from '../../errors.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import type { ClaimObject } from '../../caches.js';
import type { Informer } from '../../kube/informer.js';
import { Resources } from '../../kube/resources.js';
import type { Logger } from '../../log.js';
import { claimObject, type Claim } from '../../domain/claims.js';
import type { ControllerContext } from '../context.js';
import { holdsClient, invitationState } from '../../domain/invitations.js';
import { teammatesOf } from '../../domain/teammates.js';

/** A claim whose data parsed. */
type HeldClaim = ClaimObject & { data: Claim['data'] };

/**
 * Keeps the staff/client claims of an account equal to what backs them: every teammate holds a staff claim and
 * every invited or member client a client claim (objects created before the webhook was installed get theirs
 * here); a claim that nothing has backed for the grace period (a request the webhook allowed but that was never
 * stored, a removed teammate, a revoked invitation) is deleted, on the version that was read.
 */
export class ClaimReconciler implements Reconciler {
  readonly name = 'claims';

  constructor(
    private readonly ctx: ControllerContext,
    private readonly claims: Informer<ClaimObject>,
    private readonly namespace: string,
    private readonly graceMs: number,
  ) {}

  async reconcile(account: string, log: Logger): Promise<Result | void> {
    const accountObj = this.ctx.caches.accounts.get(account);
    const staff = new Set(accountObj?.metadata.deletionTimestamp ? [] : teammatesOf(accountObj?.spec).keys());
    const clients = new Set<string>();
    for (const inv of this.ctx.caches.invitations.inNamespace(account)) {
      const s = invitationState(inv);
      if (s.email && holdsClient(s)) clients.add(s.email);
    }

    const held = new Map<string, HeldClaim>();
    for (const claim of this.claims.list()) {
      if (claim.data?.account === account) held.set(claim.data.email, { ...claim, data: claim.data });
    }

    const wanted: { email: string; population: 'staff' | 'client' }[] = [
      ...[...staff].map((email) => ({ email, population: 'staff' as const })),
      ...[...clients].filter((e) => !staff.has(e)).map((email) => ({ email, population: 'client' as const })),
    ];
    for (const w of wanted) {
      if (held.has(w.email)) continue;
      try {
        const created = await this.ctx.api.create(
          Resources.ConfigMap,
          claimObject(this.namespace, { account, ...w }, 'claims-controller'),
        );
        this.claims.observe(created);
      } catch (err) {
        if (!isCode(err, 'AlreadyExists')) throw err;
      }
    }

    let nextCheck: number | undefined;
    const now = this.ctx.now().getTime();
    for (const [email, claim] of held) {
      const backed = claim.data.population === 'staff' ? staff.has(email) : clients.has(email);
      if (backed) continue;
      const age = now - new Date(claim.metadata.creationTimestamp ?? 0).getTime();
      if (age < this.graceMs) {
        nextCheck = Math.min(nextCheck ?? Infinity, this.graceMs - age + 100);
        continue;
      }
      // The caches may lag a request that was just stored: confirm with the API server before letting go.
      if (await this.backedLive(account, claim)) continue;
      await this.ctx.api.delete(
        Resources.ConfigMap,
        { namespace: this.namespace, name: claim.metadata.name },
        { resourceVersion: claim.metadata.resourceVersion },
      );
      this.claims.forget(`${this.namespace}/${claim.metadata.name}`);
      log.info({ population: claim.data.population }, 'released a claim nothing backs any more');
    }
    return nextCheck === undefined ? undefined : { requeueAfterMs: nextCheck };
  }

  private async backedLive(account: string, claim: HeldClaim): Promise<boolean> {
    if (claim.data.population === 'staff') {
      const live = this.ctx.caches.accounts.parse(
        await this.ctx.api.get(Resources.Account, { name: account }),
      );
      return teammatesOf(live?.spec).has(claim.data.email);
    }
    const { items } = await this.ctx.api.list(Resources.ClientInvitation, { namespace: account });
    return items.some((raw) => {
      const inv = this.ctx.caches.invitations.parse(raw);
      const s = inv && invitationState(inv);
      if (!s) return false;
      return s.email === claim.data.email && holdsClient(s);
    });
  }
}

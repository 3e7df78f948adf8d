import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Labels } from '../api/v1alpha1/group.js';
import { isCode } from '../errors.js';
import type { Api } from '../kube/api.js';
import { managedLabels } from '../kube/ownership.js';
import { Resources } from '../kube/resources.js';

/**
 * The one atomic point of the staff/client rule. A person (canonical email) of an account is reserved for one
 * population by creating a ConfigMap whose name is derived from (account, email): etcd lets exactly one create of
 * a name succeed, so of two concurrent requests, "add X as teammate" and "invite X as client", one creates the
 * claim and the other finds it held by the other population and is denied. Nothing is decided on a cache.
 *
 * A claim made for a request that is then not stored (another admission step refused it, or a dry run never
 * makes one) is reclaimed by the claims controller once nothing backs it for a grace period.
 */
export const CLAIM_COMPONENT = 'claim';

/** A person reserved for one population of one account, through the atomic point. */
export interface ClaimRequest {
  account: string;
  email: string;
  population: 'staff' | 'client';
}

/** What a claim ConfigMap holds. */
export const ClaimData = z.object({
  account: z.string(),
  email: z.string(),
  population: z.enum(['staff', 'client']),
});

export const Claim = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  data: ClaimData,
});
export type Claim = z.infer<typeof Claim>;

export function claimName(account: string, email: string): string {
  return `claim-${createHash('sha256').update(`${account}/${email}`).digest('hex').slice(0, 40)}`;
}

export function claimObject(namespace: string, c: ClaimRequest, requestUid: string) {
  return {
    metadata: {
      name: claimName(c.account, c.email),
      namespace,
      labels: managedLabels({ [Labels.component]: CLAIM_COMPONENT, [Labels.account]: c.account }),
      annotations: { 'taskjuice.io/claimed-by-request': requestUid },
    },
    data: { account: c.account, email: c.email, population: c.population },
  };
}

export type Reservation = { ok: true } | { ok: false; heldAs: 'staff' | 'client' };

export class Claims {
  constructor(
    private readonly api: Api,
    /** Claims live in the operator's namespace: an account's home namespace does not exist before the account. */
    private readonly namespace: string,
  ) {}

  private async read(c: ClaimRequest): Promise<Claim | undefined> {
    const raw = await this.api.get(Resources.ConfigMap, {
      namespace: this.namespace,
      name: claimName(c.account, c.email),
    });
    if (raw === undefined) return undefined;
    const parsed = Claim.safeParse(raw);
    // A claim that cannot be read is treated as held by the other population: refusing is the safe side.
    return parsed.success
      ? parsed.data
      : { metadata: { name: '' }, data: { ...c, population: c.population === 'staff' ? 'client' : 'staff' } };
  }

  /**
   * Reserves the person for the population, or reports who holds them. A dry run only reads: it gets the same
   * verdict and leaves nothing behind.
   */
  async reserve(c: ClaimRequest, requestUid: string, dryRun: boolean): Promise<Reservation> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!dryRun) {
        try {
          await this.api.create(Resources.ConfigMap, claimObject(this.namespace, c, requestUid));
          return { ok: true };
        } catch (err) {
          if (!isCode(err, 'AlreadyExists')) throw err;
        }
      }
      const held = await this.read(c);
      if (held === undefined) {
        if (dryRun) return { ok: true };
        continue; // reclaimed between our create and read: try the create again
      }
      return held.data.population === c.population
        ? { ok: true }
        : { ok: false, heldAs: held.data.population };
    }
    return { ok: false, heldAs: c.population === 'staff' ? 'client' : 'staff' };
  }
}

/** The denial for a reservation the other population holds, in the product's words. */
export function conflictMessage(c: ClaimRequest): string {
  return c.population === 'staff'
    ? `${c.email} is a client of account ${c.account}; a person cannot be both a teammate and a client of one account (revoke their client invitations first, or use another address)`
    : `${c.email} is a teammate of account ${c.account}; a teammate cannot also be a client of the same account (invite a different address for client access)`;
}

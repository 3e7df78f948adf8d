import type { AccountSpec } from '../api/v1alpha1/account.js';
import type { Config } from '../config.js';
import type { Caches } from '../caches.js';
import { holdsClient, invitationState } from '../domain/invitations.js';
import type { Api } from '../kube/api.js';
import { z } from 'zod';
import { Resources } from '../kube/resources.js';
import { resolvePlan, type LimitInputs, type ResolvedPlan } from '../domain/plans.js';
import { connectionEntries, type ConnectionEntry } from '../domain/connections.js';
import { SYSTEM_DELETERS, type WebhookView } from './view.js';

/** Of a namespace read from the API server, only its labels matter here (the cache holds only the operator's). */
const NamespaceLabels = z.object({
  metadata: z.object({ labels: z.record(z.string(), z.string()).optional() }),
});

/** How long an allowed Workspace create counts before the watch shows it (or shows that it never happened). */
const ADMITTED_MS = 30_000;
/** How many names an account's deletion refusal shows. */
const LIVE_NAMES = 5;
/** Accounts whose clients are kept at most; beyond it the map starts again (one recomputation per account). */
const MAX_ACCOUNTS_KEPT = 10_000;
const NONE_PENDING: ReadonlyMap<string, number> = new Map();

/** The webhook's view of the cluster, from the operator's informers (which hold parsed objects). */
export class CacheView implements WebhookView {
  /** Per account: slugs of creates allowed and not yet in the cache, with when they stop counting. */
  private readonly admitted = new Map<string, Map<string, number>>();
  /** Per account: its clients, as of the invitations cache's stamp for the account's namespace. */
  private readonly clientsByAccount = new Map<
    string,
    { stamp: number; clients: ReadonlyMap<string, string[]> }
  >();

  constructor(
    private readonly caches: Caches,
    private readonly api: Api,
    private readonly config: Config,
    private readonly selfUsername: string,
  ) {}

  async account(name: string): Promise<AccountSpec | undefined> {
    const { accounts } = this.caches;
    // A request right after the account's create can beat the watch event: ask the API server on a miss.
    const obj = accounts.get(name) ?? accounts.parse(await this.api.get(Resources.Account, { name }));
    if (!obj || obj.metadata.deletionTimestamp) return undefined;
    return obj.spec;
  }

  async workspacesLive(account: string): Promise<{ count: number; names: string[] }> {
    // One short page: the names to show and the server's count of the rest, not every workspace of the account.
    const page = await this.api.listPage(Resources.Workspace, { namespace: account, limit: LIVE_NAMES });
    const names = page.items.flatMap((w) => this.caches.workspaces.parse(w)?.metadata.name ?? []);
    const rest = page.remainingItemCount ?? (page.continue ? 1 : 0);
    return { count: page.items.length + rest, names };
  }

  async workspaceExists(account: string, slug: string): Promise<boolean> {
    if (this.caches.workspaces.get(`${account}/${slug}`)) return true;
    return (await this.api.get(Resources.Workspace, { namespace: account, name: slug })) !== undefined;
  }

  workspaceCached(account: string, slug: string): { deleting: boolean } | undefined {
    const w = this.caches.workspaces.get(`${account}/${slug}`);
    return w && { deleting: w.metadata.deletionTimestamp !== undefined };
  }

  workspaceCount(account: string): number {
    return this.caches.workspaces.countInNamespace(account) + this.pending(account).size;
  }

  hasWorkspace(account: string, slug: string): boolean {
    return this.caches.workspaces.get(`${account}/${slug}`) !== undefined || this.pending(account).has(slug);
  }

  /** The account's allowed creates its cache does not show yet (those it shows or that expired are dropped). */
  private pending(account: string): ReadonlyMap<string, number> {
    const pending = this.admitted.get(account);
    if (!pending) return NONE_PENDING;
    const now = Date.now();
    for (const [slug, until] of pending) {
      if (until < now || this.caches.workspaces.get(`${account}/${slug}`)) pending.delete(slug);
    }
    if (pending.size === 0) this.admitted.delete(account);
    return pending;
  }

  /** Bounded: only creates within the plan are admitted, so an account holds at most its plan's limit here. */
  admitWorkspace(account: string, slug: string): void {
    const pending = this.admitted.get(account) ?? new Map<string, number>();
    pending.set(slug, Date.now() + ADMITTED_MS);
    this.admitted.set(account, pending);
  }

  connections(account: string): ConnectionEntry[] {
    return connectionEntries(this.caches.connections.inNamespace(account));
  }

  clients(account: string): ReadonlyMap<string, string[]> {
    // Kept per account until its invitations change: reviews repeat far more often than invitations do.
    const stamp = this.caches.invitations.namespaceStamp(account);
    const known = this.clientsByAccount.get(account);
    if (known?.stamp === stamp) return known.clients;
    const clients = new Map<string, string[]>();
    for (const inv of this.caches.invitations.inNamespace(account)) {
      const s = invitationState(inv);
      if (!s.email || !s.workspace || !holdsClient(s)) continue;
      const workspaces = clients.get(s.email) ?? [];
      if (!workspaces.includes(s.workspace)) clients.set(s.email, [...workspaces, s.workspace]);
    }
    // An account without invitations keeps no entry, and deleted accounts' entries go when the map is full.
    if (this.clientsByAccount.size >= MAX_ACCOUNTS_KEPT) this.clientsByAccount.clear();
    if (stamp === 0) this.clientsByAccount.delete(account);
    else this.clientsByAccount.set(account, { stamp, clients });
    return clients;
  }

  plan(spec: LimitInputs): ResolvedPlan {
    return resolvePlan(spec, this.config.plans);
  }

  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    const ns = await this.api.get(Resources.Namespace, { name });
    if (ns === undefined) return undefined;
    return NamespaceLabels.safeParse(ns).data?.metadata.labels ?? {};
  }

  isSystem(username: string): boolean {
    return username === this.selfUsername || SYSTEM_DELETERS.includes(username);
  }
}

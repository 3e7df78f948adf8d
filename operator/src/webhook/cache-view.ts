import { AccountSpec } from '../api/v1alpha1/account.js';
import type { Config } from '../config.js';
import type { Caches } from '../controllers/context.js';
import { holdsClient, invitationState } from '../controllers/invitation/state.js';
import type { Api } from '../kube/api.js';
import type { CachedObject } from '../kube/informer.js';
import { Resources } from '../kube/resources.js';
import { SYSTEM_DELETERS, type WebhookView } from './view.js';

/** The webhook's view of the cluster, from the operator's informers; parsed specs are kept per object version. */
export class CacheView implements WebhookView {
  private readonly specs = new WeakMap<CachedObject, AccountSpec | undefined>();

  constructor(
    private readonly caches: Caches,
    private readonly api: Api,
    private readonly config: Config,
    private readonly selfUsername: string,
  ) {}

  async account(name: string): Promise<AccountSpec | undefined> {
    let obj = this.caches.accounts.get(name);
    // A request right after the account's create can beat the watch event: ask the API server on a miss.
    obj ??= (await this.api.get(Resources.Account, { name })) as CachedObject | undefined;
    if (!obj || obj.metadata.deletionTimestamp) return undefined;
    if (!this.specs.has(obj)) this.specs.set(obj, AccountSpec.safeParse(obj.spec).data);
    return this.specs.get(obj);
  }

  async workspacesLive(account: string): Promise<string[]> {
    const { items } = await this.api.list(Resources.Workspace, { namespace: account });
    return items.map((w) => (w as CachedObject).metadata.name);
  }

  async workspaceExists(account: string, slug: string): Promise<boolean> {
    if (this.caches.workspaces.get(`${account}/${slug}`)) return true;
    return (await this.api.get(Resources.Workspace, { namespace: account, name: slug })) !== undefined;
  }

  workspaces(account: string): string[] {
    return [...this.caches.workspaces.inNamespace(account)].map((w) => w.metadata.name);
  }

  clients(account: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const inv of this.caches.invitations.inNamespace(account)) {
      const s = invitationState(inv);
      if (!s.email || !s.workspace || !holdsClient(s)) continue;
      const workspaces = out.get(s.email) ?? [];
      if (!workspaces.includes(s.workspace)) out.set(s.email, [...workspaces, s.workspace]);
    }
    return out;
  }

  plan(name: string | undefined): { limit: number; resolved: boolean } {
    const limit = name === undefined ? undefined : this.config.plans[name];
    return limit === undefined ? { limit: 1, resolved: false } : { limit, resolved: true };
  }

  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    const ns = (await this.api.get(Resources.Namespace, { name })) as
      { metadata?: { labels?: Record<string, string> } } | undefined;
    return ns ? (ns.metadata?.labels ?? {}) : undefined;
  }

  isSystem(username: string): boolean {
    return username === this.selfUsername || SYSTEM_DELETERS.includes(username);
  }
}

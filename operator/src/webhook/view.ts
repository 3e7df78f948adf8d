import type { AccountSpec } from '../api/v1alpha1/account.js';
import type { ConnectionEntry } from '../domain/connections.js';
import type { LimitInputs, ResolvedPlan } from '../domain/plans.js';

/** The state the validators decide on, read from the operator's caches (every replica keeps them warm). */
export interface WebhookView {
  /** The account's parsed spec; undefined when there is no such Account (a cache miss asks the API server). */
  account(name: string): Promise<AccountSpec | undefined>;
  /** Whether the workspace exists (a cache miss asks the API server: it may have been created a moment ago). */
  workspaceExists(account: string, slug: string): Promise<boolean>;
  /**
   * The workspace as the cache holds it, without asking the API server: a create of a new slug (the common case)
   * must not cost a round trip. A workspace stored a moment ago by another replica may be missing; the API
   * server's own AlreadyExists is then the answer.
   */
  workspaceCached(account: string, slug: string): { deleting: boolean } | undefined;
  /**
   * How many workspaces the account has, those being deleted included (as the quota counts them), and those whose
   * create this replica allowed a moment ago and its cache does not show yet. Counted, not listed: a review costs
   * the same in an account of 1,000 workspaces as in one of 5.
   */
  workspaceCount(account: string): number;
  /** Whether the account has the workspace by that count: in the cache or allowed a moment ago. */
  hasWorkspace(account: string, slug: string): boolean;
  /**
   * Counts an allowed create until the cache shows it: creates allowed at once would otherwise all see the same
   * count, and those past the plan would meet the quota's raw message instead of the product's.
   */
  admitWorkspace(account: string, slug: string): void;
  /**
   * The same, asked of the API server, for decisions that would lose data if the cache lagged: the count and
   * the first few names (one page of a list, whatever the account's size).
   */
  workspacesLive(account: string): Promise<{ count: number; names: string[] }>;
  /** The account's connections, from the cache. */
  connections(account: string): ConnectionEntry[];
  /** Canonical client emails of the account and the workspaces they are invited to or members of. */
  clients(account: string): ReadonlyMap<string, string[]>;
  /** The account's workspace limit: spec.workspaceLimit when set, else its plan's (unresolved plans fall back to 1). */
  plan(spec: LimitInputs): ResolvedPlan;
  /** A namespace's labels, read from the API server (the caches only hold the operator's own). */
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
  /** Whether a request comes from the operator itself or a Kubernetes controller acting for a deletion. */
  isSystem(username: string): boolean;
}

/** Kubernetes controllers that delete on behalf of a deletion already decided (namespace and garbage collection). */
export const SYSTEM_DELETERS = [
  'system:serviceaccount:kube-system:namespace-controller',
  'system:serviceaccount:kube-system:generic-garbage-collector',
  'system:kube-controller-manager',
];

import { Annotations } from '../../src/api/v1alpha1/group.js';

/**
 * The objects a client applies in the benchmark, the same for the operator's run and for the floor: an account on
 * a plan large enough for every workspace, and workspaces as GitOps would write them.
 */

export const BENCH_PLAN = 'bench';
/**
 * Room for any burst. The API server stores it as "100k" (quantities are canonicalised); this benchmark found that
 * the Account controller once compared it with "100000" and never left QuotaPending.
 */
export const BENCH_LIMIT = 100000;
/** The plan catalog the operator runs with: the usual tiers plus the benchmark's. */
export const PLAN_CATALOG = JSON.stringify({ starter: 1, growth: 5, scale: 25, [BENCH_PLAN]: BENCH_LIMIT });

export function accountBody(name: string, labels: Record<string, string>) {
  return {
    metadata: { name, labels },
    spec: {
      displayName: `Agency ${name}`,
      plan: BENCH_PLAN,
      teammates: [{ email: `owner@${name}.example`, role: 'Owner' }],
    },
  };
}

export function workspaceBody(account: string, slug: string, labels: Record<string, string>) {
  return {
    metadata: {
      name: slug,
      namespace: account,
      labels,
      // What deleting it takes where the admission webhook runs (the benchmark's cleanup on a real cluster).
      annotations: { [Annotations.confirmDelete]: slug },
    },
    spec: { displayName: `Client ${slug}` },
  };
}

/** N workspaces spread round-robin over the accounts, as [account, slug]. */
export function spread(accounts: readonly string[], n: number): [string, string][] {
  return Array.from({ length: n }, (_, i) => [accounts[i % accounts.length] as string, `ws-${i}`]);
}

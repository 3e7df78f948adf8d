import { Annotations } from '../../src/api/v1alpha1/group.js';

/**
 * The objects a client applies in the benchmark, the same for the operator's run and for the floor: an account on
 * a plan large enough for every workspace, and workspaces as GitOps would write them.
 */

export const BENCH_PLAN = 'bench';
/**
 * Room for any burst. Not 100000: the API server stores quota quantities in canonical form ("100k"), and the
 * Account controller compares the quota's `status.hard` with the plain number, so an account whose limit is a
 * multiple of 1000 never leaves QuotaPending (found by this benchmark; reported, not worked around in the operator).
 */
export const BENCH_LIMIT = 99999;
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

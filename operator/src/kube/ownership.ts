import { isDeepStrictEqual } from 'node:util';
import { Labels, MANAGED_BY } from '../api/v1alpha1/group.js';

/** Labels on every object the operator creates; informers of child kinds select on the first. */
export const MANAGED_SELECTOR = `${Labels.managedBy}=${MANAGED_BY}`;

export function managedLabels(extra: Record<string, string>): Record<string, string> {
  return { [Labels.managedBy]: MANAGED_BY, [Labels.partOf]: 'taskjuice', ...extra };
}

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export function ownerReference(owner: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; uid?: string };
}): OwnerRef {
  if (!owner.metadata.uid)
    throw new Error(`ownerReference: ${owner.kind} ${owner.metadata.name} has no uid yet`);
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Whether `actual` already holds everything in `desired`: objects key by key, arrays element by element with the
 * same length, scalars equal. Fields the API server defaults (and the desired object leaves out) do not count.
 * This is what lets a reconcile skip a server-side apply that would change nothing: the second pass over an
 * unchanged object makes no write.
 */
export function contains(actual: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((d, i) => contains(actual[i], d))
    );
  }
  if (desired === null || typeof desired !== 'object') return isDeepStrictEqual(actual, desired);
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  for (const [k, v] of Object.entries(desired as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (!contains(a[k], v)) return false;
  }
  return true;
}

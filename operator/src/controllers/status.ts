import { isDeepStrictEqual } from 'node:util';
import type { Api } from '../kube/api.js';
import type { CachedObject, Informer } from '../kube/informer.js';
import type { ResourceType } from '../kube/resources.js';

/** Drops undefined fields so that a computed status compares equal to the same status read back. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Writes the status subresource by server-side apply, and only when it differs from what the cache holds: the
 * same observation twice is one write, not two. The answer goes back into the cache.
 */
export async function writeStatus(
  api: Api,
  informer: Informer,
  resource: ResourceType,
  obj: CachedObject,
  status: object,
  opts: { optimistic?: boolean } = {},
): Promise<boolean> {
  const next = plain(status);
  if (isDeepStrictEqual(obj.status ?? {}, next)) return false;
  if (opts.optimistic) {
    // A status other writers also change (an invitation's, which the accept endpoint writes): the write carries the
    // version it was computed from, and a conflict sends the reconcile round again with the newer one.
    informer.observe(await api.replace(resource, { ...obj, status: next }, { subresource: 'status' }));
    return true;
  }
  const written = await api.apply(
    resource,
    { metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace }, status: next },
    { subresource: 'status' },
  );
  informer.observe(written);
  return true;
}

import { isCode, terminal } from '../errors.js';
import type { Api } from './api.js';
import { keyOf, type CachedObject, type Informer } from './informer.js';
import { contains } from './ownership.js';
import { contentDigest } from './digest.js';
import { Resources, type ResourceType } from './resources.js';

interface Desired {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * Whether a cached object already holds `desired` (see `contains`). A cached object that keeps a digest of its data
 * rather than the data (a credentials Secret, see caches.ts) holds the desired data when the digests agree.
 */
export function holds(actual: CachedObject, desired: Desired): boolean {
  if (typeof actual.contentDigest !== 'string' || desired.data === undefined)
    return contains(actual, desired);
  const { data, ...rest } = desired;
  return actual.contentDigest === contentDigest(data as Record<string, string>) && contains(actual, rest);
}

/**
 * Makes the cluster hold `desired`: nothing is written when the cached object already contains it, otherwise one
 * server-side apply under the operator's field manager, whose answer goes back into the cache. Returns the object
 * and whether it was written.
 */
export async function ensure(
  api: Api,
  informer: Informer,
  resource: ResourceType,
  desired: Desired,
): Promise<{ object: CachedObject; written: boolean }> {
  const actual = informer.get(keyOf(desired));
  if (actual && holds(actual, desired)) return { object: actual, written: false };
  const written = await api.apply(resource, desired);
  informer.observe(written);
  return { object: informer.get(keyOf(desired)) ?? (written as CachedObject), written: true };
}

/**
 * A RoleBinding: like `ensure`, except that a binding to another role is deleted first, because the API server
 * refuses any change of `roleRef`. This is how bindings made under an earlier role setting (such as staff bound
 * to `edit`) move to the configured role instead of failing every pass.
 */
export async function ensureRoleBinding(
  api: Api,
  informer: Informer,
  desired: Desired & { roleRef: { kind: string; name: string } },
): Promise<{ object: CachedObject; written: boolean }> {
  const key = keyOf(desired);
  const actual = informer.get(key);
  const roleRef = actual?.roleRef;
  const current = roleRef && typeof roleRef === 'object' ? new Map(Object.entries(roleRef)) : undefined;
  if (
    current &&
    (current.get('kind') !== desired.roleRef.kind || current.get('name') !== desired.roleRef.name)
  ) {
    // Only the binding that was read: if it changed meanwhile, the precondition fails and the pass is retried.
    await api.delete(
      Resources.RoleBinding,
      { namespace: desired.metadata.namespace, name: desired.metadata.name },
      { uid: actual?.metadata.uid },
    );
    informer.forget(key);
  }
  return ensure(api, informer, Resources.RoleBinding, desired);
}

/** Makes sure the object does not exist; no request when the cache already says so. */
export async function ensureAbsent(
  api: Api,
  informer: Informer,
  resource: ResourceType,
  key: { namespace?: string; name: string },
): Promise<boolean> {
  const k = key.namespace ? `${key.namespace}/${key.name}` : key.name;
  if (!informer.get(k)) return false;
  await api.delete(resource, key);
  informer.forget(k);
  return true;
}

/**
 * A namespace the operator is about to own. The informer only sees namespaces carrying the operator's labels, so a
 * namespace missing from it may still exist, made by someone else: it is created with a plain create, never taken
 * over by an apply. A namespace that exists without `owns(labels)` is a conflict a person must resolve.
 */
export async function ensureOwnedNamespace(
  api: Api,
  informer: Informer,
  desired: Desired,
  owns: (labels: Record<string, string> | undefined) => boolean,
): Promise<{ object: CachedObject; written: boolean }> {
  const name = desired.metadata.name;
  if (!informer.get(name)) {
    try {
      informer.observe(await api.create(Resources.Namespace, desired));
    } catch (err) {
      if (!isCode(err, 'AlreadyExists')) throw err;
      const existing = (await api.get(Resources.Namespace, { name })) as CachedObject | undefined;
      if (existing && !owns(existing.metadata.labels)) {
        throw terminal(
          `namespace ${name} already exists and is not managed by workspace-operator for this object`,
        );
      }
      if (existing) informer.observe(existing);
    }
  }
  return ensure(api, informer, Resources.Namespace, desired);
}

import type { Controller } from './controller.js';
import { keyOf, type CachedObject, type Informer } from './informer.js';

export type WatchEvent = 'add' | 'update' | 'delete';

/** The keys an event concerns: none, one, or several. `old` is the version before, on an update. */
export type MapToKeys<T> = (obj: T, old?: T) => Iterable<string> | string | undefined;

export interface WatchOptions {
  /** The events that count (all three by default). */
  events?: readonly WatchEvent[];
  /** Enqueue after a delay: the events of that delay merge into one reconcile. */
  delayMs?: number;
}

const ALL: readonly WatchEvent[] = ['add', 'update', 'delete'];

/** Whether two versions of an object differ in nothing but their status and resourceVersion. */
function sameButStatus(a: CachedObject, b: CachedObject): boolean {
  const strip = ({ status: _status, metadata, ...rest }: CachedObject) =>
    JSON.stringify({
      ...rest,
      metadata: { ...metadata, resourceVersion: undefined, managedFields: undefined },
    });
  return strip(a) === strip(b);
}

/**
 * What a controller watches, controller-runtime's builder in small: `for` its own kind (every event, the object's
 * key), `owns` the children it makes (updates and deletes by someone else bring the owner back for repair; adds
 * are its own creations, whose owner is queued already), and `watches` any other kind, mapped to its keys.
 * Duplicate keys merge in the queue.
 */
export class Watches {
  constructor(private readonly controller: Controller) {}

  for<T extends CachedObject>(informer: Informer<T>, events: readonly WatchEvent[] = ALL): this {
    return this.watches(informer, keyOf, { events });
  }

  /**
   * With `ignoreStatus`, an update that changed only a child's status (a ResourceQuota the quota controller
   * counted) does not bring the owner back: for a controller that reads none of its children's status.
   */
  owns(
    informers: readonly Informer[],
    ownerKey: (child: CachedObject) => string | undefined,
    opts: { ignoreStatus?: boolean } = {},
  ): this {
    const map: MapToKeys<CachedObject> = (child, old) =>
      opts.ignoreStatus && old && sameButStatus(old, child) ? undefined : ownerKey(child);
    for (const informer of informers) this.watches(informer, map, { events: ['update', 'delete'] });
    return this;
  }

  watches<T extends CachedObject>(informer: Informer<T>, map: MapToKeys<T>, opts: WatchOptions = {}): this {
    const events = opts.events ?? ALL;
    const enqueue = (obj: T, old: T | undefined, deleted: boolean) => {
      const keys = map(obj, old);
      if (keys === undefined) return;
      const source = {
        informer: informer.id,
        objectKey: keyOf(obj),
        version: obj.metadata.resourceVersion,
        deleted,
      };
      // The reconcile's own writes do not bring the same key back (one reconcile per change).
      for (const key of typeof keys === 'string' ? [keys] : keys)
        this.controller.enqueueForEvent(key, source, opts.delayMs);
    };
    informer.on({
      ...(events.includes('add') ? { add: (o: T) => enqueue(o, undefined, false) } : {}),
      ...(events.includes('update') ? { update: (old: T, o: T) => enqueue(o, old, false) } : {}),
      ...(events.includes('delete') ? { delete: (o: T) => enqueue(o, undefined, true) } : {}),
    });
    return this;
  }
}

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

  owns(informers: readonly Informer[], ownerKey: (child: CachedObject) => string | undefined): this {
    for (const informer of informers) this.watches(informer, ownerKey, { events: ['update', 'delete'] });
    return this;
  }

  watches<T extends CachedObject>(informer: Informer<T>, map: MapToKeys<T>, opts: WatchOptions = {}): this {
    const events = opts.events ?? ALL;
    const enqueue = (obj: T, old?: T) => {
      const keys = map(obj, old);
      if (keys === undefined) return;
      for (const key of typeof keys === 'string' ? [keys] : keys) {
        // The reconcile's own writes do not bring the same key back (one reconcile per change).
        if (this.controller.isReconciling(key)) continue;
        if (opts.delayMs === undefined) this.controller.enqueue(key);
        else this.controller.enqueueAfter(key, opts.delayMs);
      }
    };
    informer.on({
      ...(events.includes('add') ? { add: (o: T) => enqueue(o) } : {}),
      ...(events.includes('update') ? { update: (old: T, o: T) => enqueue(o, old) } : {}),
      ...(events.includes('delete') ? { delete: (o: T) => enqueue(o) } : {}),
    });
    return this;
  }
}

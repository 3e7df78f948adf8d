import { OperatorError, errorMessage, isCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Api } from './api.js';
import { passes } from './pass.js';
import { resourcePath, type ResourceType } from './resources.js';
import { WATCH_IDLE_SECONDS } from '../config.js';

/** What the informer keeps of an object: the API's JSON without `metadata.managedFields`. */
export interface CachedObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface InformerHandlers<T = CachedObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T extends CachedObject = CachedObject> {
  namespace?: string;
  labelSelector?: string;
  /** Upper bound of a watch's server-side timeout; each watch takes a random length between half and all of it. */
  watchTimeoutSeconds?: number;
  /** Silence (not even a bookmark) after which a watch counts as dead and is opened again; see WATCH_IDLE_SECONDS. */
  watchIdleSeconds?: number;
  /**
   * Which objects enter the cache. A label selector can be matched by anyone who can label an object, so a kind that
   * tenants can also create says here which objects are the operator's own; the others are dropped on arrival, and
   * an object that stops qualifying leaves the cache as if deleted.
   */
  admit?: (obj: CachedObject) => boolean;
  /** What the cache keeps of an admitted object: the fields the operator reads, nothing a tenant can grow. */
  trim?: (obj: CachedObject) => CachedObject;
  /**
   * The kind's schema: a trimmed object is parsed once, on entry, and consumers read the typed result. It never
   * throws: what does not parse is kept with its issues (see kube/typed.ts), so a reconcile can report them.
   */
  parse?: (obj: CachedObject) => T;
  log: Logger;
}

export const keyOf = (obj: { metadata: { name: string; namespace?: string | undefined } }): string =>
  obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function asCached(raw: unknown): CachedObject | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const obj = raw as CachedObject;
  if (!obj.metadata || typeof obj.metadata.name !== 'string') return undefined;
  delete obj.metadata.managedFields;
  return obj;
}

/**
 * How long and how many deletions an informer remembers (see `deleted`): a write's late answer comes within the
 * request timeout (30 s), so two minutes is plenty, and a churn of creates and deletes keeps the map small.
 */
const DELETED_MS = 120_000;
const MAX_DELETED = 10_000;

/**
 * Whether `next` is a later version than `current`. Resource versions are etcd revisions, so numbers compare; an
 * older one reaches the informer when a watch delivers a version the operator has already observed a newer one of.
 */

function isNewer(next: CachedObject, current: CachedObject): boolean {
  const a = Number(next.metadata.resourceVersion);
  const b = Number(current.metadata.resourceVersion);
  if (Number.isFinite(a) && Number.isFinite(b)) return a > b;
  return next.metadata.resourceVersion !== current.metadata.resourceVersion;
}

const WatchEvent = (raw: unknown): { type: string; object: unknown } | undefined => {
  if (!raw || typeof raw !== 'object') return undefined;
  const e = raw as { type?: unknown; object?: unknown };
  return typeof e.type === 'string' ? { type: e.type, object: e.object } : undefined;
};

/**
 * A cache of one resource kept current by list and watch, as client-go's reflector does it: list, then watch from
 * the list's resourceVersion with bookmarks; a watch that ends is re-established from the last seen version; a
 * `410 Gone` (the version fell out of the server's window) re-lists; any other failure retries with backoff.
 * The cache is never left on a dead watch: a watch that stays silent past its timeout is torn down and redone.
 */
export class Informer<T extends CachedObject = CachedObject> {
  private static informers = 0;
  /** Tells this informer's objects from another's of the same key (see Pass). */
  readonly id = ++Informer.informers;
  /** Cluster-scoped objects, by name. */
  private readonly cluster = new Map<string, T>();
  /**
   * Namespaced objects, by namespace: the one object a namespace holds (most hold one of each child kind), or a map
   * of them by name. No key string per object, and "the objects of one namespace" costs their number.
   */
  private readonly namespaced = new Map<string, T | Map<string, T>>();
  private namespacedCount = 0;
  /**
   * The version at which an object was seen deleted, by key, so that a write's answer that arrives after the watch's
   * DELETED event (a status write sent just before the delete) cannot put the object back as if it lived. Bounded:
   * the oldest go first, long after any answer of theirs could still arrive.
   */
  private readonly deleted = new Map<string, { version: number; at: number }>();
  /**
   * When each namespace's objects last changed, as a count of the cache's changes (absent: the namespace holds
   * none), so that what is computed from one namespace's objects can be kept until they change.
   */
  private readonly changedAt = new Map<string, number>();
  private changes = 0;
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly recoveryListeners: (() => void)[] = [];
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private watchAbort: AbortController | undefined;
  private forcedVersion: string | undefined;
  /** How many times the informer listed (the first sync included); a test reads it to see a re-list happen. */
  lists = 0;
  /** How many watches it opened. */
  watches = 0;
  /** Events received (bookmarks and errors not counted). */
  private events = 0;

  constructor(
    private readonly api: Api,
    readonly resource: ResourceType,
    private readonly opts: InformerOptions<T>,
  ) {}

  /**
   * Calls `fn` each time a list or watch succeeds after failures: the API server is back, and work that failed
   * while it was away can be retried at once.
   */
  onRecovered(fn: () => void): void {
    this.recoveryListeners.push(fn);
  }

  private recovered(): void {
    for (const fn of this.recoveryListeners) fn();
  }

  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get size(): number {
    return this.cluster.size + this.namespacedCount;
  }

  get(key: string): T | undefined {
    const slash = key.indexOf('/');
    if (slash < 0) return this.cluster.get(key);
    const entry = this.namespaced.get(key.slice(0, slash));
    if (entry === undefined) return undefined;
    const name = key.slice(slash + 1);
    if (entry instanceof Map) return entry.get(name);
    return entry.metadata.name === name ? entry : undefined;
  }

  *list(): Generator<T> {
    yield* this.cluster.values();
    for (const entry of this.namespaced.values()) {
      if (entry instanceof Map) yield* entry.values();
      else yield entry;
    }
  }

  /** How many objects one namespace holds, without visiting them. */
  countInNamespace(namespace: string): number {
    const entry = this.namespaced.get(namespace);
    return entry === undefined ? 0 : entry instanceof Map ? entry.size : 1;
  }

  /**
   * A stamp that changes whenever an object of the namespace is stored or removed: equal stamps mean the same
   * objects. An empty namespace's stamp is 0.
   */
  namespaceStamp(namespace: string): number {
    return this.changedAt.get(namespace) ?? 0;
  }

  /** Objects in one namespace. */
  *inNamespace(namespace: string): Generator<T> {
    const entry = this.namespaced.get(namespace);
    if (entry instanceof Map) yield* [...entry.values()];
    else if (entry !== undefined) yield entry;
  }

  private put(obj: T): void {
    const { name, namespace: ns } = obj.metadata;
    if (ns === undefined) {
      this.cluster.set(name, obj);
      return;
    }
    const entry = this.namespaced.get(ns);
    if (entry === undefined) {
      this.namespaced.set(ns, obj);
      this.namespacedCount++;
    } else if (entry instanceof Map) {
      if (!entry.has(name)) this.namespacedCount++;
      entry.set(name, obj);
    } else if (entry.metadata.name === name) {
      this.namespaced.set(ns, obj);
    } else {
      this.namespaced.set(
        ns,
        new Map([
          [entry.metadata.name, entry],
          [name, obj],
        ]),
      );
      this.namespacedCount++;
    }
    this.changedAt.set(ns, ++this.changes);
  }

  private remove(key: string): T | undefined {
    const obj = this.get(key);
    if (!obj) return undefined;
    const { name, namespace: ns } = obj.metadata;
    if (ns === undefined) {
      this.cluster.delete(name);
      return obj;
    }
    const entry = this.namespaced.get(ns);
    this.namespacedCount--;
    if (entry instanceof Map) {
      entry.delete(name);
      if (entry.size === 1) this.namespaced.set(ns, entry.values().next().value as T);
    } else this.namespaced.delete(ns);
    if (this.namespaced.has(ns)) this.changedAt.set(ns, ++this.changes);
    else this.changedAt.delete(ns);
    return obj;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    const unsynced = () => new OperatorError('Timeout', `${this.resource.kind} cache did not sync`);
    if (signal?.aborted) return Promise.reject(unsynced());
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(unsynced()), { once: true });
    });
  }

  /**
   * Puts an object the operator just wrote into the cache, unless the cache already holds that version or a
   * newer one. Without it, the next reconcile could read the cache from before its own write (say, no Secret yet)
   * and act on it again. Handlers are called as the watch event would call them, and that event, arriving later
   * with the same version, changes nothing: every change reaches the handlers once, whichever comes first. (They
   * must see it: a workspace lists its clients from its invitations, whose status the accept endpoint writes.)
   */
  observe(raw: unknown): void {
    const obj = asCached(raw);
    if (!obj) return;
    const key = keyOf(obj);
    const deletedAt = this.deleted.get(key)?.version;
    const version = Number(obj.metadata.resourceVersion);
    if (deletedAt !== undefined && !(Number.isFinite(version) && version > deletedAt)) return;
    // Noted before the handlers run: the events this write causes are the pass's own.
    passes.getStore()?.noteWrite(this.id, key, obj.metadata.resourceVersion);
    this.arrive(key, obj);
  }

  /** A version of an object arrives (listed, watched or written): admitted and trimmed, or dropped. */
  private arrive(key: string, obj: CachedObject): void {
    if (this.opts.admit && !this.opts.admit(obj)) {
      // Versions compare before the verdict: a stale event must not evict a newer version that qualifies.
      const old = this.get(key);
      if (old && isNewer(obj, old)) {
        this.remove(key);
        for (const h of this.handlers) h.delete?.(old);
      }
      return;
    }
    this.upsert(key, this.typed(obj));
  }

  /** What the cache keeps of an object: trimmed, then parsed. */
  private typed(obj: CachedObject): T {
    const trimmed = this.opts.trim ? this.opts.trim(obj) : obj;
    return this.opts.parse ? this.opts.parse(trimmed) : (trimmed as T);
  }

  /** An object read from the API rather than the watch, trimmed and typed as the cache would hold it. */
  parse(raw: unknown): T | undefined {
    const obj = asCached(raw);
    return obj && this.typed(obj);
  }

  private rememberDeleted(key: string, obj: CachedObject): void {
    const version = Number(obj.metadata.resourceVersion);
    if (!Number.isFinite(version)) return;
    const now = Date.now();
    this.deleted.delete(key);
    this.deleted.set(key, { version, at: now });
    // Oldest first (insertion order): drop what is past its time, and the oldest beyond the count.
    for (const [k, { at }] of this.deleted) {
      if (this.deleted.size <= MAX_DELETED && now - at < DELETED_MS) break;
      this.deleted.delete(k);
    }
  }

  /**
   * Drops every object of a namespace without telling the handlers: nothing in it concerns the controllers any
   * more (it is being deleted), and holding it would let the cluster's deletion backlog grow the cache.
   */
  forgetNamespace(namespace: string): void {
    for (const obj of [...this.inNamespace(namespace)]) this.remove(keyOf(obj));
  }

  /** Removes an object the operator just deleted, for the same reason. */
  forget(key: string): void {
    passes.getStore()?.noteDelete(this.id, key);
    this.remove(key);
  }

  /**
   * Ends the current watch and resumes from `resourceVersion`, as if the connection had dropped there. Tests use
   * it with a long-gone version to see the informer recover from `410 Gone`.
   */
  restartWatchFrom(resourceVersion: string): void {
    this.forcedVersion = resourceVersion;
    this.watchAbort?.abort();
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let needList = true;
    // 410s in a row with no event in between: the first re-lists at once, later ones back off (a proxy or server
    // that answers every watch with 410 must not turn the informer into a loop of full lists).
    let gone = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          // The server answered: a later failure backs off from the start again, not from where an outage left it.
          if (failures > 0) this.recovered();
          failures = 0;
        }
        const events = this.events;
        await this.watchOnce(signal, () => {
          if (failures > 0) this.recovered();
          failures = 0;
        });
        failures = 0;
        if (this.events > events) gone = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isCode(err, 'Gone')) {
          gone++;
          const delay = gone > 1 ? Math.min(250 * 2 ** (gone - 2), 30_000) : 0;
          this.opts.log.info({ retryInMs: delay }, 'watch expired (410 Gone); listing again');
          needList = true;
          if (delay > 0) await sleep(delay, signal);
          continue;
        }
        failures++;
        // Short enough that a restarted API server is seen within seconds; one list or watch per informer each
        // few seconds is nothing for a server that is down.
        const delay = Math.min(100 * 2 ** failures, 5_000) * (1 + Math.random() * 0.2);
        this.opts.log.warn({ err: errorMessage(err), retryInMs: delay }, 'list or watch failed');
        await sleep(delay, signal);
      }
    }
  }

  /**
   * Lists the collection and takes in each page as it comes: what is held meanwhile is the cache and one page of
   * whole objects, not every object of the collection as the API sends it (at 10,000 workspaces, seven kinds
   * listed at once on a restart would otherwise hold some 70,000 of them, managed fields and all).
   */
  private async relist(): Promise<void> {
    const pages = this.api.pages(this.resource, {
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
    });
    const seen = new Set<string>();
    let resourceVersion = '';
    for await (const page of pages) {
      for (const raw of page.items) {
        const obj = asCached(raw);
        if (!obj) continue;
        const key = keyOf(obj);
        if (this.opts.admit && !this.opts.admit(obj)) continue;
        seen.add(key);
        this.arrive(key, obj);
      }
      resourceVersion = page.resourceVersion;
    }
    this.lists++;
    for (const key of [...this.list()].map(keyOf)) {
      if (!seen.has(key)) {
        const obj = this.remove(key);
        if (obj) for (const h of this.handlers) h.delete?.(obj);
      }
    }
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** Stores the object and tells the handlers, unless the cache holds this version or a newer one already. */
  private upsert(key: string, obj: T): void {
    const old = this.get(key);
    if (old && !isNewer(obj, old)) return;
    this.put(obj);
    if (!old) for (const h of this.handlers) h.add?.(obj);
    else for (const h of this.handlers) h.update?.(old, obj);
  }

  private async watchOnce(signal: AbortSignal, onOpen: () => void): Promise<void> {
    // A stop that came while the list was in flight: an abort listener added now would never fire, and the watch
    // would hold the stop until the server ends it, minutes later.
    if (signal.aborted) return;
    if (this.forcedVersion !== undefined) {
      this.resourceVersion = this.forcedVersion;
      this.forcedVersion = undefined;
    }
    const max = this.opts.watchTimeoutSeconds ?? 600;
    const timeoutSeconds = Math.max(1, Math.floor(max / 2 + Math.random() * (max / 2)));
    const abort = new AbortController();
    this.watchAbort = abort;
    const onOuterAbort = () => abort.abort();
    signal.addEventListener('abort', onOuterAbort);
    this.watches++;
    try {
      await this.api.client.stream(
        {
          method: 'GET',
          path: resourcePath(this.resource, { namespace: this.opts.namespace }),
          query: {
            watch: 1,
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.opts.labelSelector,
          },
        },
        (doc) => this.onEvent(doc),
        abort.signal,
        // The server sends a bookmark about once a minute and ends the watch after timeoutSeconds: silence for
        // longer than either means the connection is dead, and the watch resumes from the last version seen.
        Math.min(timeoutSeconds + 30, this.opts.watchIdleSeconds ?? WATCH_IDLE_SECONDS) * 1000,
        onOpen,
      );
    } finally {
      signal.removeEventListener('abort', onOuterAbort);
      this.watchAbort = undefined;
    }
  }

  private onEvent(doc: unknown): void {
    const event = WatchEvent(doc);
    if (!event) return;
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; message?: string } | undefined;
      if (status?.code === 410)
        throw new OperatorError('Gone', status.message ?? 'resource version too old', { status: 410 });
      throw new OperatorError(
        'Unavailable',
        `watch ${this.resource.kind}: ${status?.message ?? 'error event'}`,
      );
    }
    const obj = asCached(event.object);
    if (!obj) return;
    this.events++;
    if (obj.metadata.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const key = keyOf(obj);
    if (event.type === 'DELETED') {
      this.rememberDeleted(key, obj);
      const old = this.remove(key);
      // A deleted object that never qualified concerns nobody.
      if (old || !this.opts.admit || this.opts.admit(obj)) {
        // The handlers get the object as it was when it went (its last state in the store), not the cache's copy:
        // whether it still carried a finalizer at the end is what tells a finalized deletion from one that was not.
        const gone = this.typed(obj);
        for (const h of this.handlers) h.delete?.(gone);
      }
    } else this.arrive(key, obj);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

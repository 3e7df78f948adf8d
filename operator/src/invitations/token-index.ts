import type { InvitationObject } from '../caches.js';
import { keyOf, type InformerHandlers } from '../kube/informer.js';

const tokenHashOf = (obj: InvitationObject): string | undefined => obj.status?.tokenHash || undefined;

/**
 * Which invitation a token hash belongs to, in one map lookup: the accept endpoint is public, so the work for a
 * guessed token must not grow with the number of invitations. Kept from the invitations informer's events; a
 * resent invitation replaces its hash, so the old link stops resolving at once.
 */
export class TokenIndex {
  private readonly keyByHash = new Map<string, string>();
  private readonly hashByKey = new Map<string, string>();

  /** The handlers to register on the invitations informer. */
  readonly handlers: InformerHandlers<InvitationObject> = {
    add: (obj) => this.set(obj),
    update: (_old, obj) => this.set(obj),
    delete: (obj) => this.remove(keyOf(obj)),
  };

  /** Indexes exactly these objects (a cache's content), forgetting any other. */
  reset(objects: Iterable<InvitationObject>): void {
    this.keyByHash.clear();
    this.hashByKey.clear();
    for (const obj of objects) this.set(obj);
  }

  set(obj: InvitationObject): void {
    const key = keyOf(obj);
    const hash = tokenHashOf(obj);
    if (this.hashByKey.get(key) === hash) return;
    this.remove(key);
    if (hash === undefined) return;
    // Two invitations with one hash would mean a 256-bit collision or a copied status; the later one wins, and
    // the accept endpoint re-reads the object and compares hashes before it acts anyway.
    const previous = this.keyByHash.get(hash);
    if (previous !== undefined) this.hashByKey.delete(previous);
    this.keyByHash.set(hash, key);
    this.hashByKey.set(key, hash);
  }

  remove(key: string): void {
    const hash = this.hashByKey.get(key);
    if (hash === undefined) return;
    this.hashByKey.delete(key);
    if (this.keyByHash.get(hash) === key) this.keyByHash.delete(hash);
  }

  /** The cache key (`namespace/name`) of the invitation whose current token has this hash. */
  lookup(hash: string): string | undefined {
    return this.keyByHash.get(hash);
  }

  get size(): number {
    return this.keyByHash.size;
  }
}

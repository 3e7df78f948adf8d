import { isDeepStrictEqual } from 'node:util';
import { setConditions, type ConditionInput } from '../api/conditions.js';
import type { Condition } from '../api/meta.js';
import { OperatorError, errorMessage, isCode } from '../errors.js';
import type { Api } from './api.js';
import { keyOf, type CachedObject, type Informer } from './informer.js';
import { apiVersionOf, type ResourceType } from './resources.js';

/** Drops undefined fields so that a computed status compares equal to the same status read back. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** An object whose status holds conditions, as the typed caches hand it out. */
export type WithConditions = CachedObject & { status?: { conditions?: Condition[] } | undefined };

export interface StatusWrite<T> {
  /** Whether a write went out (false: the status already was this, or the object is gone). */
  written: boolean;
  /** The object is gone: nothing is left to report on. */
  gone: boolean;
  /** The object as it now is, whose version the next write of the same pass must carry. */
  object: T;
}

/**
 * The one way status is written, for every kind. It sets the given conditions onto the object's current ones
 * (conditions the write does not mention are kept; observedGeneration is stamped; lastTransitionTime moves only on
 * a flip), writes only when the result differs from what the object holds (the same observation twice is one
 * write, not two), and puts the answer into the cache. A missing object is not an error: it was deleted meanwhile.
 *
 * Server-side apply by default. `optimistic` is for a status other writers also change (an invitation's, which the
 * accept endpoint writes): the write carries the version it was computed from, and a Conflict goes to the caller,
 * which retries with the newer one.
 */
export class StatusWriter<T extends WithConditions> {
  constructor(
    private readonly api: Api,
    private readonly informer: Informer<T>,
    private readonly resource: ResourceType,
    private readonly now: () => Date,
    private readonly opts: { optimistic?: boolean } = {},
  ) {}

  async write(
    obj: T,
    status: NonNullable<T['status']>,
    conditions: readonly ConditionInput[],
  ): Promise<StatusWrite<T>> {
    const generation = obj.metadata.generation ?? 0;
    const next = plain({
      ...status,
      observedGeneration: generation,
      conditions: setConditions(obj.status?.conditions ?? [], conditions, generation, this.now()),
    });
    if (isDeepStrictEqual(plain(obj.status ?? {}), next)) return { written: false, gone: false, object: obj };
    const { name, namespace } = obj.metadata;
    try {
      const written = this.opts.optimistic
        ? await this.api.replace(
            this.resource,
            {
              apiVersion: apiVersionOf(this.resource),
              kind: this.resource.kind,
              metadata: {
                name,
                namespace,
                uid: obj.metadata.uid,
                resourceVersion: obj.metadata.resourceVersion,
              },
              status: next,
            },
            { subresource: 'status' },
          )
        : await this.api.apply(
            this.resource,
            { metadata: { name, namespace }, status: next },
            { subresource: 'status' },
          );
      this.informer.observe(written);
      return { written: true, gone: false, object: this.informer.get(keyOf(obj)) ?? obj };
    } catch (err) {
      if (isCode(err, 'NotFound')) return { written: false, gone: true, object: obj };
      throw err instanceof OperatorError
        ? err
        : new OperatorError('Internal', errorMessage(err), { cause: err });
    }
  }
}

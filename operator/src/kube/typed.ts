import type { z } from 'zod';
import type { CachedObject } from './informer.js';
import { cachedValues } from './intern.js';

/** A zod issue, as much of it as a condition message names. */
export interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/** An object of one of the operator's kinds as the cache holds it: spec and status parsed once, on entry. */
export interface Typed<Spec, Status> extends CachedObject {
  /** The parsed spec (defaults applied); undefined when it does not parse, and then `specIssues` says why. */
  spec: Spec | undefined;
  specIssues?: readonly Issue[];
  /** The parsed status; undefined while the operator has written none, empty when what is there does not parse. */
  status: Status | undefined;
}

/** The parser an informer of such a kind is given. */
export function typedKind<Spec extends z.ZodType, Status extends z.ZodType>(spec: Spec, status: Status) {
  const empty = status.parse({}) as z.output<Status>;
  return (obj: CachedObject): Typed<z.output<Spec>, z.output<Status>> => {
    const parsed = spec.safeParse(obj.spec);
    return {
      ...obj,
      spec: parsed.success ? parsed.data : undefined,
      ...(parsed.success ? {} : { specIssues: parsed.error.issues }),
      status: obj.status === undefined ? undefined : (status.safeParse(obj.status).data ?? empty),
    };
  };
}

/**
 * The parser of a child kind: the fields the operator reads, each falling back to undefined when it does not
 * parse (such a child then reads as not holding what the operator wants, and the next pass writes it again).
 * Each parsed field is held once for all children that have the same (see ValuePool), unless `shared` is false:
 * credentials and claims are each their own.
 */
export function typedChild<Fields extends z.ZodType>(fields: Fields, { shared = true } = {}) {
  return (obj: CachedObject): CachedObject & z.output<Fields> => {
    const parsed = fields.parse(obj) as Record<string, unknown>;
    if (shared) for (const [k, v] of Object.entries(parsed)) parsed[k] = cachedValues.share(v);
    return Object.assign({}, obj, parsed) as CachedObject & z.output<Fields>;
  };
}

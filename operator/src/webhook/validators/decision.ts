import { z } from 'zod';
import { describeIssues } from '../../api/issues.js';
import { ObjectMeta } from '../../api/meta.js';
import type { Verdict } from '../review.js';
import type { ClaimRequest } from '../../domain/claims.js';

export type { ClaimRequest };

/** A validator's answer: the verdict, and the reservations to make before an allow stands. */
export interface Decision extends Verdict {
  claims?: ClaimRequest[];
}

export const allowed = (warnings: string[] = [], claims: ClaimRequest[] = []): Decision => ({
  allowed: true,
  warnings,
  claims,
});
export const denied = (message: string): Decision => ({ allowed: false, message });

/** The envelope of the object under review; spec is parsed by each kind's schema. */
export const ReviewedObject = z.looseObject({ metadata: ObjectMeta, spec: z.unknown().optional() });
export type ReviewedObject = z.infer<typeof ReviewedObject>;

/** The object under review and its spec parsed by the kind's schema, or the denial that says what is wrong. */
export function reviewed<S extends z.ZodType>(
  raw: unknown,
  kind: string,
  spec: S,
): { ok: true; obj: ReviewedObject; spec: z.output<S> } | { ok: false; denial: Decision } {
  const obj = ReviewedObject.safeParse(raw);
  if (!obj.success)
    return {
      ok: false,
      denial: denied(`the ${kind} is malformed: ${describeIssues(obj.error.issues, 'object')}`),
    };
  const parsed = spec.safeParse(obj.data.spec);
  if (!parsed.success) return { ok: false, denial: denied(describeIssues(parsed.error.issues, 'spec')) };
  return { ok: true, obj: obj.data, spec: parsed.data };
}

export { plural } from '../../api/text.js';

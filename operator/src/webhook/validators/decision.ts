import { z } from 'zod';
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

export { plural } from '../../api/text.js';

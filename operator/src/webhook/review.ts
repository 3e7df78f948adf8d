import { z } from 'zod';

/** An AdmissionReview (admission.k8s.io/v1) as the API server sends it; parsed once, at the edge. */
export const GroupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });

export const UserInfo = z.looseObject({
  username: z.string().default(''),
  uid: z.string().optional(),
  groups: z.array(z.string()).default([]),
});
export type UserInfo = z.infer<typeof UserInfo>;

export const Operation = z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
export type Operation = z.infer<typeof Operation>;

export const AdmissionRequest = z.looseObject({
  uid: z.string().min(1).max(128),
  kind: GroupVersionKind,
  resource: z.looseObject({ group: z.string(), version: z.string(), resource: z.string() }),
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: Operation,
  userInfo: UserInfo,
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});
export type AdmissionRequest = z.infer<typeof AdmissionRequest>;

export const AdmissionReview = z.looseObject({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: AdmissionRequest,
});
export type AdmissionReview = z.infer<typeof AdmissionReview>;

/** What a validator decides. A denial's message is what the user reads after "denied the request:". */
export interface Verdict {
  allowed: boolean;
  message?: string;
  warnings?: string[];
}

export const allow = (warnings: string[] = []): Verdict => ({ allowed: true, warnings });
export const deny = (message: string): Verdict => ({ allowed: false, message });

const MAX_WARNINGS = 20;
const MAX_WARNING_LENGTH = 256;

/** The AdmissionReview answer for a request. */
export function reviewResponse(uid: string, verdict: Verdict): unknown {
  const warnings = (verdict.warnings ?? []).slice(0, MAX_WARNINGS).map((w) => w.slice(0, MAX_WARNING_LENGTH));
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: verdict.allowed,
      ...(verdict.allowed
        ? {}
        : {
            status: {
              code: 403,
              reason: 'Forbidden',
              message: verdict.message ?? 'denied by workspace-operator',
            },
          }),
      ...(warnings.length > 0 ? { warnings } : {}),
    },
  };
}

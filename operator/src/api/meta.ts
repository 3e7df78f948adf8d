import { z } from 'zod';

/**
 * The parts of `metadata` the operator reads. Unknown keys pass through untouched: an object read from the API
 * and written back must not lose what other tools put there.
 */
export const ObjectMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
        blockOwnerDeletion: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** Any object as the API serves it: the envelope is parsed, spec and status are parsed by each kind. */
export const KubeObject = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: ObjectMeta,
});
export type KubeObject = z.infer<typeof KubeObject>;

/** An RFC 3339 time, as metav1.Time serialises. */
export const Timestamp = z.string().max(64).meta({ format: 'date-time' });

/** `metav1.Condition`, the shape `kubectl wait`, Argo CD and Flux read. */
export const Condition = z.object({
  type: z
    .string()
    .min(1)
    .max(316)
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
    )
    .describe(
      'Type of the condition, in CamelCase: Ready, Reconciling, Stalled, or one per provisioned part.',
    ),
  status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
  observedGeneration: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('The metadata.generation the condition was computed from.'),
  lastTransitionTime: Timestamp.describe(
    'When the condition last changed from one status to another (RFC 3339).',
  ),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe('A CamelCase word saying why the condition has its status, for programs.'),
  message: z.string().max(32768).describe('A sentence saying why the condition has its status, for people.'),
});
export type Condition = z.infer<typeof Condition>;

export const Conditions = z
  .array(Condition)
  .max(32)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
  .describe('The latest observations of the object, one per condition type.');

export const ObservedGeneration = z
  .number()
  .int()
  .min(0)
  .describe(
    'The metadata.generation the status describes; it equals metadata.generation once the change is handled.',
  );

import { z } from 'zod';

/**
 * What the support bundle keeps of what it reads: nothing that carries a credential. Every object loses its
 * managedFields and its last-applied-configuration (which holds whatever was applied, a Secret's data included)
 * and its token digests; a Secret is reduced to what it is before anything of it is kept.
 */

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const REDACTED_KEYS = new Set(['tokenHash', 'token', 'password']);

/** A copy of an object fit for the bundle: no managedFields, no last-applied-configuration, no token digests. */
export function sanitize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sanitize);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'managedFields' || key === LAST_APPLIED) continue;
    out[key] = REDACTED_KEYS.has(key) ? '<removed from the report>' : sanitize(inner);
  }
  return out;
}

const SecretShape = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    creationTimestamp: z.string().optional(),
    ownerReferences: z.array(z.object({ kind: z.string(), name: z.string() })).optional(),
  }),
  type: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** What a Secret is, without what it holds: name, type, labels, owners, and the names of its keys. */
export function secretSummary(raw: unknown): Record<string, unknown> {
  const s = SecretShape.parse(raw);
  return {
    name: s.metadata.name,
    namespace: s.metadata.namespace,
    type: s.type,
    keys: Object.keys(s.data ?? {}).sort(),
    labels: s.metadata.labels,
    owners: s.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
    created: s.metadata.creationTimestamp,
  };
}

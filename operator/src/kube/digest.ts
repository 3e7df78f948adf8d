import { createHash } from 'node:crypto';

/** A digest of a Secret's data (entries sorted), to notice new credentials without keeping them. */
export function contentDigest(data: Record<string, string> | undefined): string {
  const hash = createHash('sha256');
  for (const [k, v] of Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(k).update('\0').update(v).update('\0');
  }
  return hash.digest('hex');
}

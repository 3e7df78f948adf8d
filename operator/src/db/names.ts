import { createHash } from 'node:crypto';

/**
 * Names derived from an (account, slug) pair. Both are DNS labels, so hyphens alone cannot separate them
 * (`a-b`/`c` and `a`/`b-c` would meet); every name therefore ends in a hash of the exact pair, and the readable
 * part before it is only a truncated hint. Identifiers stay within PostgreSQL's 63 bytes and namespaces within a
 * DNS label's 63 characters, so nothing is ever silently truncated.
 */

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const HASH_LENGTH = 12;

/** 60 bits of SHA-256 of the pair, in lower-case base32. */
export function pairHash(account: string, slug: string): string {
  const digest = createHash('sha256').update(`${account}/${slug}`).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < HASH_LENGTH) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= HASH_LENGTH) break;
  }
  return out;
}

export interface TenantNames {
  schema: string;
  role: string;
}

/** The PostgreSQL schema and role of a workspace: `<prefix>_<account>_<slug>_<hash>`, at most 63 bytes. */
export function tenantNames(prefix: string, account: string, slug: string): TenantNames {
  const hint = (s: string, max: number) => s.replace(/-/g, '_').slice(0, max);
  const name = `${prefix}_${hint(account, 18)}_${hint(slug, 24)}_${pairHash(account, slug)}`;
  // The role shares the schema's name: PostgreSQL's default search_path ("$user", public) then finds it first.
  return { schema: name, role: name };
}

/** The namespace of a workspace: `<account>-<slug>-<hash>`, a DNS label of at most 63 characters. */
export function workspaceNamespace(account: string, slug: string): string {
  return `${account.slice(0, 20)}-${slug.slice(0, 28)}-${pairHash(account, slug)}`;
}

/** Whether a name has the shape of this operator's tenant names (for the inventory query). */
export function isTenantName(prefix: string, name: string): boolean {
  return name.startsWith(`${prefix}_`) && new RegExp(`_[a-z2-7]{${HASH_LENGTH}}$`).test(name);
}

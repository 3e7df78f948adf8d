import { domainToASCII } from 'node:url';

/**
 * People are identified by email, compared in one canonical form: Unicode NFKC (so full-width letters become
 * ASCII), format characters such as zero-width spaces removed, trimmed, lower case, the Turkish dotted and
 * dotless i folded to `i`, and the domain in its IDNA ASCII form. The local part must be ASCII after that, so no
 * look-alike of a teammate's address can pass the staff/client rule as a different person.
 */
export type CanonicalEmail = { ok: true; email: string } | { ok: false; reason: string };

const FORMAT_CHARACTERS = /\p{Cf}/gu;
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const EMAIL_RULE =
  "must be one address like name@example.com: ASCII letters, digits and . ! # $ % & ' * + / = ? ^ _ ` { | } ~ - before the @, and a domain name after it";

/**
 * Answers already computed, by input. Every admission review canonicalises its user and the account's teammates,
 * the same few addresses over and over; the folding (two NFKC passes and IDNA) is most of the webhook's own work.
 * Bounded: when full it starts again, which costs one recomputation per address.
 */
const memo = new Map<string, CanonicalEmail>();
const MEMO_LIMIT = 10_000;

export function canonicalEmail(input: string): CanonicalEmail {
  let result = memo.get(input);
  if (result === undefined) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    result = canonicalize(input);
    memo.set(input, result);
  }
  return result;
}

function canonicalize(input: string): CanonicalEmail {
  const folded = input
    .normalize('NFKC')
    .replace(FORMAT_CHARACTERS, '')
    .trim()
    .replace(/[ıİ]/g, 'i')
    .toLowerCase()
    .normalize('NFKC');
  const at = folded.lastIndexOf('@');
  if (at <= 0 || at === folded.length - 1 || folded.indexOf('@') !== at) {
    return { ok: false, reason: EMAIL_RULE };
  }
  const local = folded.slice(0, at);
  const domain = domainToASCII(folded.slice(at + 1));
  if (local.length > 64 || !LOCAL_PART.test(local)) return { ok: false, reason: EMAIL_RULE };
  const labels = domain.split('.');
  if (
    domain === '' ||
    domain.length > 253 ||
    labels.length < 2 ||
    !labels.every((l) => DOMAIN_LABEL.test(l))
  ) {
    return { ok: false, reason: EMAIL_RULE };
  }
  const email = `${local}@${domain}`;
  if (email.length > 254) return { ok: false, reason: 'must be at most 254 characters' };
  return { ok: true, email };
}

/** The canonical form, or the input unchanged when it is not a valid address (callers validate first). */
export function canonicalOrSelf(input: string): string {
  const result = canonicalEmail(input);
  return result.ok ? result.email : input;
}

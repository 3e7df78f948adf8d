import { describe, expect, it } from 'vitest';
import type { InvitationObject } from '../caches.js';
import { TokenIndex } from './token-index.js';

const invitation = (name: string, tokenHash?: string): InvitationObject => ({
  metadata: { name, namespace: 'acme' },
  spec: undefined,
  status: tokenHash === undefined ? undefined : { tokenHash },
});

describe('TokenIndex', () => {
  it('finds an added invitation by its token hash and nothing for another hash', () => {
    const index = new TokenIndex();
    index.handlers.add?.(invitation('ana', 'aa'));
    expect(index.lookup('aa')).toBe('acme/ana');
    expect(index.lookup('bb')).toBeUndefined();
  });

  it('forgets the old hash when an update replaces the token (a resend)', () => {
    const index = new TokenIndex();
    index.handlers.add?.(invitation('ana', 'aa'));
    index.handlers.update?.(invitation('ana', 'aa'), invitation('ana', 'bb'));
    expect(index.lookup('aa')).toBeUndefined();
    expect(index.lookup('bb')).toBe('acme/ana');
    expect(index.size).toBe(1);
  });

  it('indexes an invitation once its status gains a hash and drops it when the hash goes', () => {
    const index = new TokenIndex();
    index.handlers.add?.(invitation('ana'));
    expect(index.size).toBe(0);
    index.handlers.update?.(invitation('ana'), invitation('ana', 'aa'));
    expect(index.lookup('aa')).toBe('acme/ana');
    index.handlers.update?.(invitation('ana', 'aa'), invitation('ana'));
    expect(index.lookup('aa')).toBeUndefined();
  });

  it('removes a deleted invitation', () => {
    const index = new TokenIndex();
    index.handlers.add?.(invitation('ana', 'aa'));
    index.handlers.add?.(invitation('ben', 'bb'));
    index.handlers.delete?.(invitation('ana', 'aa'));
    expect(index.lookup('aa')).toBeUndefined();
    expect(index.lookup('bb')).toBe('acme/ben');
    expect(index.size).toBe(1);
  });

  it('keeps one entry per invitation however often it is reset or updated', () => {
    const index = new TokenIndex();
    const all = Array.from({ length: 100 }, (_, i) => invitation(`p${i}`, `h${i}`));
    index.reset(all);
    index.reset(all);
    for (const inv of all) index.handlers.update?.(inv, inv);
    expect(index.size).toBe(100);
    expect(index.lookup('h42')).toBe('acme/p42');
  });

  it('forgets on reset an invitation the cache no longer holds', () => {
    const index = new TokenIndex();
    index.reset([invitation('ana', 'aa'), invitation('ben', 'bb')]);
    index.reset([invitation('ben', 'bb')]);
    expect(index.lookup('aa')).toBeUndefined();
    expect(index.lookup('bb')).toBe('acme/ben');
  });

  it('gives a hash copied onto another invitation to that one, and deleting the first leaves it there', () => {
    const index = new TokenIndex();
    index.handlers.add?.(invitation('ana', 'aa'));
    index.handlers.add?.(invitation('ben', 'aa'));
    expect(index.lookup('aa')).toBe('acme/ben');
    index.handlers.delete?.(invitation('ana', 'aa'));
    expect(index.lookup('aa')).toBe('acme/ben');
  });
});

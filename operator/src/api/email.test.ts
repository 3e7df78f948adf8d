import { describe, expect, it } from 'vitest';
import { canonicalEmail } from './email.js';

const canon = (s: string) => {
  const r = canonicalEmail(s);
  return r.ok ? r.email : `invalid: ${r.reason}`;
};

describe('canonicalEmail', () => {
  it('lower-cases and trims an ordinary address', () => {
    expect(canon('  Alice.Smith@Example.COM ')).toBe('alice.smith@example.com');
  });

  it('maps full-width, zero-width and dotted or dotless i variants onto the same address', () => {
    const variants = [
      'ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ',
      'al\u200Bice@example.com',
      'alıce@example.com',
      'ALİCE@example.com',
      '\uFEFFalice@example.com',
    ];
    for (const v of variants) expect(canon(v)).toBe('alice@example.com');
  });

  it('writes an internationalised domain in its IDNA ASCII form', () => {
    expect(canon('bob@Bücher.example')).toBe('bob@xn--bcher-kva.example');
  });

  it('rejects addresses whose local part is not ASCII after normalisation', () => {
    expect(canon('аlice@example.com')).toMatch(/^invalid/); // Cyrillic а
  });

  it('rejects malformed addresses with the rule in the reason', () => {
    for (const bad of [
      '',
      'alice',
      '@example.com',
      'alice@',
      'a@b@example.com',
      'alice@localhost',
      'a..b@example.com',
      'alice@-x.com',
    ]) {
      expect(canon(bad)).toMatch(/^invalid: must be one address/);
    }
  });
});

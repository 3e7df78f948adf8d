import { describe, expect, it } from 'vitest';
import { StringPool } from './intern.js';

describe('the string pool', () => {
  it('stays within its bound whatever strings arrive, and leaves long ones out', () => {
    const pool = new StringPool(100, 8);
    for (let i = 0; i < 1_000; i++) pool.intern(`s${i}`);
    expect(pool.size).toBeLessThanOrEqual(100);
    const before = pool.size;
    pool.intern('x'.repeat(9));
    expect(pool.size).toBe(before);
  });

  it('copies JSON values without their undefined fields, every string and structure kept', () => {
    const pool = new StringPool();
    const value = { a: 'x', b: undefined, c: [{ d: 1, e: null, f: undefined }], g: { h: true } };
    const copy = pool.compact(value);
    expect(copy).toEqual({ a: 'x', c: [{ d: 1, e: null }], g: { h: true } });
    expect(Object.keys(copy)).toEqual(['a', 'c', 'g']);
    expect(copy.c[0]).not.toBe(value.c[0]);
  });
});

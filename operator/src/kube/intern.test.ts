import { describe, expect, it } from 'vitest';
import { StringPool, ValuePool } from './intern.js';

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

describe('the value pool', () => {
  it('holds one frozen copy of equal values, and changing it throws instead of reaching the other holders', () => {
    const pool = new ValuePool(new StringPool());
    const a = pool.share({ labels: { app: 'web' }, hard: ['1', '2'] });
    const b = pool.share({ labels: { app: 'web' }, hard: ['1', '2'] });
    expect(b).toBe(a);
    expect(pool.share({ labels: { app: 'api' }, hard: ['1', '2'] })).not.toBe(a);
    expect(() => {
      (a.labels as Record<string, string>).app = 'other';
    }).toThrow(TypeError);
    expect(() => a.hard.push('3')).toThrow(TypeError);
    expect(b).toEqual({ labels: { app: 'web' }, hard: ['1', '2'] });
  });

  it('stays within its bounds, and gives a value too large to share a copy of its own', () => {
    const pool = new ValuePool(new StringPool(), 100, 64);
    for (let i = 0; i < 1_000; i++) pool.share({ n: i });
    expect(pool.size).toBeLessThanOrEqual(100);
    // Values of up to 64 characters, at most 640 characters of keys: ten of the largest at a time.
    const byChars = new ValuePool(new StringPool(), 100, 64, 640);
    for (let i = 0; i < 1_000; i++) byChars.share({ text: `${i}`.padStart(50, 'x') });
    expect(byChars.size).toBeLessThanOrEqual(10);
    const before = pool.size;
    const big = { text: 'x'.repeat(100) };
    const copy = pool.share(big);
    expect(copy).toEqual(big);
    expect(copy).not.toBe(big);
    expect(Object.isFrozen(copy)).toBe(false);
    expect(pool.size).toBe(before);
  });
});

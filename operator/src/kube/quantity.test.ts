import { describe, expect, it } from 'vitest';
import { countQuantity } from './quantity.js';

describe('countQuantity', () => {
  it('writes counts in the canonical form the API server answers with', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [1, '1'],
      [5, '5'],
      [999, '999'],
      [1000, '1k'],
      [1500, '1500'],
      [2000, '2k'],
      [99999, '99999'],
      [100000, '100k'],
      [1000000, '1M'],
      [25000000, '25M'],
    ];
    expect(cases.map(([n]) => countQuantity(n))).toEqual(cases.map(([, q]) => q));
  });

  it('refuses what is not a count', () => {
    expect(() => countQuantity(-1)).toThrow(/whole number/);
    expect(() => countQuantity(1.5)).toThrow(/whole number/);
  });
});

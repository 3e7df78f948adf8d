import { describe, expect, it } from 'vitest';
import { quantityValue } from '../api/quantity.js';
import { alignQuantities, countQuantity } from './quantity.js';

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

describe('quantityValue and alignQuantities', () => {
  it('reads binary, decimal and milli quantities', () => {
    expect(quantityValue('1Gi')).toBe(2 ** 30);
    expect(quantityValue('1024Mi')).toBe(2 ** 30);
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('0.5')).toBe(0.5);
    expect(quantityValue('1k')).toBe(1000);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue('lots')).toBeUndefined();
    expect(quantityValue('-1')).toBeUndefined();
  });

  it('keeps the stored spelling of an amount that did not change, and the desired one of an amount that did', () => {
    expect(
      alignQuantities(
        { cpu: '0.5', memory: '1024Mi', pods: '50' },
        { cpu: '500m', memory: '1Gi', pods: '10' },
      ),
    ).toEqual({
      cpu: '500m',
      memory: '1Gi',
      pods: '50',
    });
    expect(alignQuantities({ cpu: '1' }, undefined)).toEqual({ cpu: '1' });
  });
});

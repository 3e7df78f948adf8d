import { quantityValue } from '../api/quantity.js';

const DECIMAL_SUFFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E'] as const;

/**
 * A whole count in the form the API server stores it: quantities are canonicalised to the largest power of 1000
 * that leaves a whole number, so 1000 comes back as "1k" and 100000 as "100k", while 1500 stays "1500". Writing
 * the canonical form keeps a ResourceQuota's desired `hard` equal to what the server answers, and comparing with it
 * reads the quota's status correctly.
 */
export function countQuantity(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a count must be a whole number, not ${n}`);
  let mantissa = n;
  let exponent = 0;
  while (mantissa !== 0 && mantissa % 1000 === 0 && exponent < DECIMAL_SUFFIXES.length - 1) {
    mantissa /= 1000;
    exponent++;
  }
  return `${mantissa}${DECIMAL_SUFFIXES[exponent]}`;
}

function sameAmount(a: string, b: string): boolean {
  const x = quantityValue(a);
  const y = quantityValue(b);
  if (x === undefined || y === undefined) return a === b;
  return x === y || Math.abs(x - y) <= Math.max(Math.abs(x), Math.abs(y)) * 1e-12;
}

/**
 * `desired` with each quantity written as `actual` writes it when both stand for the same amount. The API server
 * stores quantities in its canonical form ("1024Mi" comes back as "1Gi"), so comparing the configured text with
 * the stored one would see a difference that is none, and write again on every pass.
 */
export function alignQuantities(desired: Record<string, string>, actual: unknown): Record<string, string> {
  const held = actual && typeof actual === 'object' ? new Map(Object.entries(actual)) : new Map();
  return Object.fromEntries(
    Object.entries(desired).map(([k, v]) => {
      const stored: unknown = held.get(k);
      return [k, typeof stored === 'string' && sameAmount(v, stored) ? stored : v];
    }),
  );
}

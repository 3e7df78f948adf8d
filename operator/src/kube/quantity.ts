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

/** A Kubernetes quantity: a decimal number with an optional binary (Ki…Ei), decimal (m, k…E) or exponent suffix. */
export const QUANTITY = /^(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;

const MULTIPLIERS: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The amount a quantity stands for, or undefined when it is not one (precise enough to compare, not to store). */
export function quantityValue(q: string): number | undefined {
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const suffix = m[3] ?? '';
  const number = Number(m[1]);
  if (suffix.startsWith('e') || suffix.startsWith('E')) return number * 10 ** Number(suffix.slice(1));
  const multiplier = MULTIPLIERS[suffix];
  return multiplier === undefined ? undefined : number * multiplier;
}

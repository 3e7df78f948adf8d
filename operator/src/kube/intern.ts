/**
 * One copy of each string that many cached objects carry. A list page or watch event is parsed into fresh strings,
 * so the namespace, account and workspace names, label values, condition reasons and timestamps of a workspace's
 * eight cached objects would each be held eight times, and once more in every other workspace of its account.
 * Bounded: only short strings are pooled, and a full pool starts again empty (strings already shared stay shared).
 */
export class StringPool {
  private readonly strings = new Map<string, string>();

  constructor(
    private readonly maxEntries = 65_536,
    private readonly maxLength = 64,
  ) {}

  get size(): number {
    return this.strings.size;
  }

  intern(s: string): string {
    if (s.length > this.maxLength) return s;
    const shared = this.strings.get(s);
    if (shared !== undefined) return shared;
    if (this.strings.size >= this.maxEntries) this.strings.clear();
    this.strings.set(s, s);
    return s;
  }

  /**
   * A copy of a JSON value with its strings (object keys are V8's own, already shared) taken from the pool and
   * undefined fields left out, so an object holds only the properties it has.
   */
  compact<T>(value: T): T {
    return this.copy(value) as T;
  }

  private copy(value: unknown): unknown {
    if (typeof value === 'string') return this.intern(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.copy(v));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = this.copy(v);
    return out;
  }
}

/**
 * One frozen copy of each small JSON value that many cached objects hold alike: the label set all children of one
 * workspace carry, a quota's limits, a LimitRange's defaults, a NetworkPolicy's rules, the subjects of every
 * workspace binding of one account. Keyed by the value's JSON, so only values of at most `maxJson` characters are
 * shared. Bounded by entries and by the characters of its keys (a full pool starts again empty, and what is shared
 * stays shared): whatever values tenants make the operator's children carry, the pool holds at most `maxKeyChars`
 * of keys and the values they spell, some 16 MB with the defaults. Frozen, because every holder sees the one copy:
 * code that would change a cached value in place throws instead of changing another object's.
 */
export class ValuePool {
  private readonly values = new Map<string, unknown>();
  private keyChars = 0;

  constructor(
    private readonly strings: StringPool,
    private readonly maxEntries = 32_768,
    private readonly maxJson = 1_024,
    private readonly maxKeyChars = 4 * 1024 * 1024,
  ) {}

  get size(): number {
    return this.values.size;
  }

  /** The shared copy of `value`, or for a value too large to share, a compact copy of its own. */
  share<T>(value: T): T {
    if (value === null || typeof value !== 'object') return this.strings.compact(value);
    const json = JSON.stringify(value);
    if (json.length > this.maxJson) return this.strings.compact(value);
    const shared = this.values.get(json);
    if (shared !== undefined) return shared as T;
    if (this.values.size >= this.maxEntries || this.keyChars + json.length > this.maxKeyChars) {
      this.values.clear();
      this.keyChars = 0;
    }
    const copy = deepFreeze(this.strings.compact(value));
    this.values.set(json, copy);
    this.keyChars += json.length;
    return copy;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The pools the operator's caches share. */
export const cachedStrings = new StringPool();
export const cachedValues = new ValuePool(cachedStrings);

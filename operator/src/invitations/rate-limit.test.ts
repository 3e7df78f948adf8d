import { describe, expect, it } from 'vitest';
import { RateLimiter, TokenBucket } from './rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, then refuses with the seconds until the next token, then refills', () => {
    const bucket = new TokenBucket(2, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)].every((r) => r.ok)).toBe(true);
    expect(bucket.take(0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(bucket.take(500).ok).toBe(true);
    expect(bucket.take(500).ok).toBe(false);
  });

  it('never holds more than its burst however long it idles', () => {
    const bucket = new TokenBucket(100, 2, 0);
    const later = 3_600_000;
    expect([bucket.take(later), bucket.take(later), bucket.take(later)].map((r) => r.ok)).toEqual([
      true,
      true,
      false,
    ]);
  });
});

describe('RateLimiter', () => {
  const limits = { perSecond: 10, burst: 5, clientPerSecond: 1, clientBurst: 2 };

  it('refuses one address beyond its own burst while another address still gets through', () => {
    const limiter = new RateLimiter(limits, () => 0);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')].map((r) => r.ok)).toEqual([
      true,
      true,
      false,
    ]);
    expect(limiter.take('b').ok).toBe(true);
  });

  it('refuses everyone once the overall burst is spent, from however many addresses', () => {
    const limiter = new RateLimiter(limits, () => 0);
    const results = Array.from({ length: 10 }, (_, i) => limiter.take(`10.0.0.${i}`));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.at(-1)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('remembers at most maxClients addresses under a flood from many', () => {
    let now = 0;
    const limiter = new RateLimiter({ ...limits, perSecond: 1e6, burst: 1e6, maxClients: 50 }, () => now++);
    for (let i = 0; i < 10_000; i++) limiter.take(`addr-${i}`);
    expect(limiter.trackedClients).toBe(50);
  });
});

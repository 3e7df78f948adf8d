/** A token bucket: `burst` requests at once, refilled at `perSecond`. Time comes in, so tests need no clock. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.perSecond);
    this.last = now;
  }

  /** Takes one token if there is one; otherwise the seconds until there will be. */
  take(now: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond)) };
  }
}

export interface RateLimits {
  perSecond: number;
  burst: number;
  clientPerSecond: number;
  clientBurst: number;
  /** Client addresses remembered at most; the bound on what a flood from many addresses can make us keep. */
  maxClients?: number;
}

/**
 * Requests over all callers and per client address, each through a token bucket. A request is counted against
 * its client first, so one noisy address runs out of its own tokens before it can drain everyone's.
 */
export class RateLimiter {
  private readonly overall: TokenBucket;
  private readonly clients = new Map<string, TokenBucket>();
  private readonly maxClients: number;

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.overall = new TokenBucket(limits.perSecond, limits.burst, now());
    this.maxClients = limits.maxClients ?? 10_000;
  }

  take(client: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    let bucket = this.clients.get(client);
    if (bucket) {
      // Re-inserted, so the map's order is least recently seen first and eviction takes the idlest address.
      this.clients.delete(client);
    } else {
      bucket = new TokenBucket(this.limits.clientPerSecond, this.limits.clientBurst, now);
      if (this.clients.size >= this.maxClients) {
        const idlest = this.clients.keys().next();
        // Forgetting an address can only hand it a fresh burst, and only after that many others came since.
        if (!idlest.done) this.clients.delete(idlest.value);
      }
    }
    this.clients.set(client, bucket);
    const own = bucket.take(now);
    if (!own.ok) return own;
    return this.overall.take(now);
  }

  get trackedClients(): number {
    return this.clients.size;
  }
}

/**
 * A work queue keyed per object, with the guarantees of client-go's workqueue:
 * - a key is handed to at most one worker at a time;
 * - adding a key that is already waiting does nothing (duplicate events merge);
 * - a key added while it is being processed is processed once more afterwards;
 * - `addRateLimited` delays a key by its own exponential backoff and by an overall token bucket, whichever is
 *   longer; `forget` resets the key's backoff after a success.
 */

export interface RateLimits {
  /** First retry delay (default 5 ms); doubles on every failure of the same key. */
  baseDelayMs: number;
  /** Longest per-key delay (default 5 minutes). */
  maxDelayMs: number;
  /** Overall rate of retries across all keys, per second (default 10), with this burst (default 100). */
  retriesPerSecond: number;
  burst: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  baseDelayMs: 5,
  maxDelayMs: 300_000,
  retriesPerSecond: 10,
  burst: 100,
};

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** What the queue reports, as client-go's queue metrics do (metrics.ts turns it into workqueue_*). */
export interface QueueObserver {
  add(): void;
  retry(): void;
  waited(seconds: number): void;
  worked(seconds: number): void;
}

const unobserved: QueueObserver = { add() {}, retry() {}, waited() {}, worked() {} };

export class WorkQueue {
  private readonly order: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; cancel(): void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  /** When each waiting key was added, and when each key in processing was taken (clock milliseconds). */
  private readonly addedAt = new Map<string, number>();
  private readonly takenAt = new Map<string, number>();
  private tokens: number;
  private tokensAt: number;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly limits: RateLimits = DEFAULT_RATE_LIMITS,
    private readonly clock: Clock = realClock,
    private readonly observer: QueueObserver = unobserved,
  ) {
    this.tokens = limits.burst;
    this.tokensAt = clock.now();
  }

  /** Keys waiting to be processed (not counting those in a delay). */
  get depth(): number {
    return this.order.length - this.head;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Seconds the keys being processed now have been held, summed (client-go's unfinished work). */
  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const at of this.takenAt.values()) total += now - at;
    return total / 1000;
  }

  /** Seconds the longest-held key being processed now has been held. */
  longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let longest = 0;
    for (const at of this.takenAt.values()) longest = Math.max(longest, now - at);
    return longest / 1000;
  }

  add(key: string): void {
    if (this.closed || this.dirty.has(key)) return;
    this.observer.add();
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.clock.now());
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** A dirty key that nobody processes goes to a waiting worker, or into the line. */
  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.take(key);
      waiter(key);
    } else this.order.push(key);
  }

  /** A worker takes the key: it stops waiting and starts being processed. */
  private take(key: string): void {
    this.processing.add(key);
    const now = this.clock.now();
    const added = this.addedAt.get(key);
    if (added !== undefined) {
      this.observer.waited((now - added) / 1000);
      this.addedAt.delete(key);
    }
    this.takenAt.set(key, now);
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    // client-go counts every delayed add as a retry (a requeueAfter too).
    this.observer.retry();
    if (delayMs <= 0) return this.add(key);
    const at = this.clock.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, { at, cancel: timer.cancel });
  }

  /** The delay the next `addRateLimited` of this key would get, without taking it. */
  backoffOf(key: string): number {
    const n = this.failures.get(key) ?? 0;
    return Math.min(this.limits.baseDelayMs * 2 ** n, this.limits.maxDelayMs);
  }

  /** Adds the key after its backoff: per key exponential, and an overall token bucket. */
  addRateLimited(key: string): number {
    const perKey = this.backoffOf(key);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    const delay = Math.max(perKey, this.takeToken());
    this.addAfter(key, delay);
    return delay;
  }

  /**
   * Keys waiting out a failure's backoff are taken now, their backoff started again: for when what they failed on
   * has just come back (the API server after a restart), so that they do not wait minutes more for nothing.
   */
  retryBackedOffNow(): number {
    let n = 0;
    for (const key of [...this.failures.keys()]) {
      const timer = this.timers.get(key);
      if (!timer) continue;
      timer.cancel();
      this.timers.delete(key);
      this.failures.delete(key);
      this.add(key);
      n++;
    }
    return n;
  }

  /** Clears the key's failure count after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key, waiting until one is available; undefined once the queue shuts down and is empty. */
  get(): Promise<string | undefined> {
    if (this.head < this.order.length) {
      const key = this.order[this.head++] as string;
      if (this.head > 1024 && this.head * 2 > this.order.length) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
      this.dirty.delete(key);
      this.take(key);
      return Promise.resolve(key);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key finished; if it was added meanwhile it goes back into the queue. */
  done(key: string): void {
    const taken = this.takenAt.get(key);
    if (taken !== undefined) {
      this.observer.worked((this.clock.now() - taken) / 1000);
      this.takenAt.delete(key);
    }
    this.processing.delete(key);
    // Added while it was processed: counted then, queued now.
    if (this.dirty.has(key) && !this.closed) this.push(key);
  }

  /** Stops handing out new keys; workers waiting in get() receive undefined. */
  shutdown(): void {
    this.closed = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private takeToken(): number {
    const now = this.clock.now();
    const rate = this.limits.retriesPerSecond / 1000;
    this.tokens = Math.min(this.limits.burst, this.tokens + (now - this.tokensAt) * rate);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / rate);
  }
}

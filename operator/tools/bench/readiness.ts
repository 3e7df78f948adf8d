import { setMaxListeners } from 'node:events';
import type { Api } from '../../src/kube/api.js';
import { Informer, keyOf, type CachedObject } from '../../src/kube/informer.js';
import type { ResourceType } from '../../src/kube/resources.js';
import type { Logger } from '../../src/log.js';

/**
 * The benchmark's own watch: when each object was first seen Ready=True for its current generation
 * (status.observedGeneration == metadata.generation), on the monotonic clock, as `kubectl wait` would see it.
 */
export function isReady(obj: CachedObject): boolean {
  const status = obj.status as
    { observedGeneration?: number; conditions?: { type?: string; status?: string }[] } | undefined;
  return (
    status?.observedGeneration === obj.metadata.generation &&
    (status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

export class ReadinessTracker {
  /** performance.now() of the first Ready sighting, per key. */
  readonly readyAt = new Map<string, number>();
  private readonly informer: Informer;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private waiters: (() => void)[] = [];

  constructor(api: Api, resource: ResourceType, labelSelector: string, log: Logger) {
    setMaxListeners(0, this.abort.signal);
    this.informer = new Informer(api, resource, { labelSelector, log });
    const seen = (obj: CachedObject) => {
      const key = keyOf(obj);
      if (this.readyAt.has(key) || !isReady(obj)) return;
      this.readyAt.set(key, performance.now());
      for (const w of this.waiters.splice(0)) w();
    };
    this.informer.on({ add: seen, update: (_, obj) => seen(obj) });
  }

  async start(): Promise<void> {
    this.running = this.informer.run(this.abort.signal);
    await this.informer.waitForSync(this.abort.signal);
  }

  /** Resolves when every key is Ready, or with the keys still missing when the deadline passes. */
  async waitFor(keys: readonly string[], timeoutMs: number): Promise<string[]> {
    const deadline = performance.now() + timeoutMs;
    const missing = () => keys.filter((k) => !this.readyAt.has(k));
    while (missing().length > 0 && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1_000);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return missing();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.catch(() => {});
  }
}

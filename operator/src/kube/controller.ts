import { randomBytes } from 'node:crypto';
import { errorMessage, isCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { span, tracingOn } from '../tracing.js';
import { Pass, passes, type EventSource } from './pass.js';
import { WorkQueue, type RateLimits } from './queue.js';

/**
 * The result of one reconcile, controller-runtime's contract: return nothing when done, `requeueAfter` to look
 * again later; throw to retry with backoff. A thrown `Terminal` error is not retried: the reconciler has put it in
 * a condition for a person to fix, and the next change of the object brings it back.
 */
export interface Result {
  requeueAfterMs?: number;
}

export interface Reconciler {
  readonly name: string;
  /** The kind its keys name, for traces (absent when a key is not one object of one kind). */
  readonly kind?: string;
  reconcile(key: string, log: Logger): Promise<Result | void>;
}

export interface ControllerOptions {
  workers: number;
  log: Logger;
  metrics: Metrics;
  rateLimits?: RateLimits;
}

/** Whether the caller runs inside some controller's reconcile (work only the leader does). */
export const inReconcile = (): boolean => passes.getStore() !== undefined;

export class Controller {
  readonly queue: WorkQueue;
  private running: Promise<void>[] = [];
  /** The passes in flight, by key. */
  private readonly passes = new Map<string, Pass>();
  private started = false;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly opts: ControllerOptions,
  ) {
    const name = reconciler.name;
    const queue: WorkQueue = new WorkQueue(
      name,
      opts.rateLimits,
      undefined,
      opts.metrics.trackQueue({
        name,
        get depth() {
          return queue.depth;
        },
        unfinishedWorkSeconds: () => queue.unfinishedWorkSeconds(),
        longestRunningProcessorSeconds: () => queue.longestRunningProcessorSeconds(),
      }),
    );
    this.queue = queue;
    opts.metrics.trackController({ name, workers: opts.workers, activeWorkers: () => queue.inFlight });
  }

  get name(): string {
    return this.reconciler.name;
  }

  /**
   * A watch event maps to `key`. While a pass of that key runs, the event waits for it to end: the pass's own writes
   * (a status, a child it applied) need no second pass, since the pass that wrote them knows them; anything else
   * queues the key again then. Changes by anyone else, and by other keys' reconciles, queue the key.
   */
  enqueueForEvent(key: string, source: EventSource, delayMs?: number): void {
    const pass = this.passes.get(key);
    if (pass) pass.hold(source, delayMs);
    else if (delayMs === undefined) this.enqueue(key);
    else this.enqueueAfter(key, delayMs);
  }

  enqueue = (key: string): void => {
    this.queue.add(key);
  };

  /** Enqueues the key after a delay; the events of that delay merge into one reconcile. */
  enqueueAfter = (key: string, delayMs: number): void => {
    this.queue.addAfter(key, delayMs);
  };

  /** Starts the workers; keys enqueued before start wait for them. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.opts.workers; i++) this.running.push(this.worker());
  }

  /** Stops taking work and waits for the reconciles in flight to finish. */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.running);
    this.running = [];
  }

  private tracedReconcile(key: string, log: Logger): Promise<Result | void> {
    const slash = key.indexOf('/');
    return span(
      `reconcile ${this.name}`,
      {
        'controller.name': this.name,
        'k8s.object.kind': this.reconciler.kind,
        'k8s.namespace.name': slash >= 0 ? key.slice(0, slash) : undefined,
        'k8s.object.name': slash >= 0 ? key.slice(slash + 1) : key,
      },
      () => this.reconciler.reconcile(key, log),
    );
  }

  private async worker(): Promise<void> {
    const { metrics } = this.opts;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const log = this.opts.log.child({
        controller: this.name,
        key,
        reconcileID: randomBytes(4).toString('hex'),
      });
      const started = performance.now();
      const pass = new Pass();
      this.passes.set(key, pass);
      try {
        const result = await passes.run(pass, () =>
          tracingOn() ? this.tracedReconcile(key, log) : this.reconciler.reconcile(key, log),
        );
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          metrics.reconciles.inc({ controller: this.name, result: 'requeue_after' });
        } else metrics.reconciles.inc({ controller: this.name, result: 'success' });
      } catch (err) {
        metrics.reconcileErrors.inc({ controller: this.name });
        if (isCode(err, 'Terminal')) {
          this.queue.forget(key);
          metrics.terminalErrors.inc({ controller: this.name });
          metrics.reconciles.inc({ controller: this.name, result: 'error' });
          log.info(
            { reason: errorMessage(err) },
            'reconcile stopped on an error that needs a person; not retrying',
          );
        } else {
          const delay = this.queue.addRateLimited(key);
          metrics.reconciles.inc({ controller: this.name, result: 'error' });
          // Conflicts are routine with optimistic concurrency: the next attempt reads the newer version.
          const level = isCode(err, 'Conflict') ? 'debug' : 'warn';
          log[level]({ err: errorMessage(err), retryInMs: delay }, 'reconcile failed; retrying');
        }
      } finally {
        this.passes.delete(key);
        const { again, delayMs } = pass.changedByOthers();
        if (again) {
          if (delayMs === undefined) this.queue.add(key);
          else this.queue.addAfter(key, delayMs);
        }
        metrics.reconcileSeconds.observe({ controller: this.name }, (performance.now() - started) / 1000);
        this.queue.done(key);
      }
    }
  }
}

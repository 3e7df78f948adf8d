import { z } from 'zod';
import { errorMessage, isCode } from '../errors.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Api } from './api.js';
import { sleep } from './informer.js';
import { Resources } from './resources.js';

/**
 * Leader election on a coordination.k8s.io Lease, with client-go's timing and rules: a replica takes the Lease
 * only when it is free or its holder has not renewed it for a whole lease duration as observed on this replica's
 * own clock (clocks of different machines are never compared); every write carries the resourceVersion it read,
 * so two candidates can never both win; a leader that cannot renew within the renew deadline steps down.
 */
/** The Lease and its timing, as configured (config.ts), and the logger. */
export type LeaderElectionOptions = Omit<Config['leaderElection'], 'enabled'> & { log: Logger };

export const DEFAULT_LEASE_TIMING = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

const Lease = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string().optional() }),
  spec: z
    .looseObject({
      holderIdentity: z.string().nullish(),
      leaseDurationSeconds: z.number().nullish(),
      leaseTransitions: z.number().nullish(),
      acquireTime: z.string().nullish(),
      renewTime: z.string().nullish(),
    })
    .optional(),
});
type Lease = z.infer<typeof Lease>;

const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private lost = false;
  private lastRenew = 0;
  private observedRecord = '';
  private observedAt = 0;

  constructor(
    private readonly api: Api,
    private readonly opts: LeaderElectionOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * True once this replica led and can no longer be sure it still does: its last renewal is older than the renew
   * deadline on its own clock (a process paused past its Lease, say, that has not yet run its next renewal), or it
   * stepped down. Such a replica must not write: another may hold the Lease and be writing the same objects.
   */
  get lapsed(): boolean {
    return this.lost || (this.leading && Date.now() - this.lastRenew > this.opts.renewDeadlineMs);
  }

  /**
   * Campaigns until elected, calls `onStarted`, renews until the signal aborts or renewal fails past the
   * deadline (then `onStopped`). On abort the Lease is released so that another replica takes over at once.
   */
  async run(signal: AbortSignal, callbacks: { onStarted(): void; onStopped(): void }): Promise<void> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await sleep(this.opts.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return;
    this.leading = true;
    this.opts.log.info({ lease: this.opts.name, identity: this.opts.identity }, 'became leader');
    callbacks.onStarted();
    while (!signal.aborted) {
      await sleep(this.opts.retryPeriodMs, signal);
      if (signal.aborted) break;
      // A successful renewal records when it was sent (lastRenew).
      const renewed = await this.tryAcquireOrRenew();
      if (!renewed && Date.now() - this.lastRenew > this.opts.renewDeadlineMs) {
        this.leading = false;
        this.lost = true;
        this.opts.log.error(
          { lease: this.opts.name },
          'lost the leader Lease: could not renew it within the deadline',
        );
        callbacks.onStopped();
        return;
      }
    }
    if (this.leading) await this.release();
    this.leading = false;
  }

  private async read(): Promise<Lease | undefined> {
    const raw = await this.api.get(Resources.Lease, { namespace: this.opts.namespace, name: this.opts.name });
    return raw === undefined ? undefined : Lease.parse(raw);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    const durationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    try {
      const lease = await this.read();
      if (!lease) {
        await this.api.create(Resources.Lease, {
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: {
            holderIdentity: this.opts.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.observe(JSON.stringify({ h: this.opts.identity, r: microTime(now) }));
        this.lastRenew = now;
        return true;
      }
      const spec = lease.spec ?? {};
      const record = JSON.stringify({ h: spec.holderIdentity, r: spec.renewTime });
      if (record !== this.observedRecord) this.observe(record);
      const holder = spec.holderIdentity ?? '';
      const held = holder !== '' && holder !== this.opts.identity;
      const expired = Date.now() - this.observedAt > (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (held && !expired) return false;
      const takeover = holder !== this.opts.identity;
      await this.api.replace(Resources.Lease, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: this.opts.identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: microTime(now),
          acquireTime: takeover ? microTime(now) : spec.acquireTime,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover ? 1 : 0),
        },
      });
      // When it was sent, not when the answer came: a process paused in between must count the pause against it.
      this.lastRenew = now;
      return true;
    } catch (err) {
      if (!isCode(err, 'Conflict', 'AlreadyExists')) {
        this.opts.log.warn(
          { lease: this.opts.name, err: errorMessage(err) },
          'leader election request failed',
        );
      }
      return false;
    }
  }

  private observe(record: string): void {
    this.observedRecord = record;
    this.observedAt = Date.now();
  }

  /** Gives the Lease up, so the next candidate does not wait for it to expire. */
  private async release(): Promise<void> {
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity !== this.opts.identity) return;
      await this.api.replace(Resources.Lease, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: null,
          leaseDurationSeconds: 1,
          renewTime: microTime(Date.now()),
        },
      });
      this.opts.log.info({ lease: this.opts.name }, 'released the leader Lease');
    } catch (err) {
      this.opts.log.warn(
        { lease: this.opts.name, err: errorMessage(err) },
        'could not release the leader Lease',
      );
    }
  }
}

import { setMaxListeners } from 'node:events';
import type { Caches } from './caches.js';
import { setupAccount } from './controllers/account/setup.js';
import { setupClaims } from './controllers/claims/setup.js';
import { setupConnection } from './controllers/connection/setup.js';
import { setupDatabaseServer } from './controllers/databaseserver/setup.js';
import type { ControllerContext, SetupContext } from './controllers/context.js';
import { setupInvitation } from './controllers/invitation/setup.js';
import { setupWorkspace } from './controllers/workspace/setup.js';
import { createMailer, type Mailer } from './invitations/mailer.js';
import type { Api } from './kube/api.js';
import type { KubeClient } from './kube/client.js';
import { Controller, inReconcile } from './kube/controller.js';
import { sleep } from './kube/informer.js';
import { LeaderElector } from './kube/leader.js';
import { DatabaseHealth, serveHealth } from './manager/health.js';
import { DriftChecks } from './manager/drift.js';
import { ProvisioningTimer, kindSources } from './manager/kind-metrics.js';
import { Serving } from './manager/serving.js';
import { buildShared, type SharedOptions } from './manager/shared.js';
import type { Metrics } from './metrics.js';
import { startTracing, type Tracing } from './tracing.js';

export interface OperatorOptions extends SharedOptions {
  kube: KubeClient;
  /** Delivers invitation links; by default SMTP when configured (see createMailer). */
  mailer?: Mailer;
  /** Called when the operator cannot go on (lost leadership); main exits the process, as controller-runtime does. */
  onFatal?: (reason: string) => void;
}

/**
 * The manager: builds the shared pieces, registers each kind's controller (its folder says what it watches), and
 * owns start and shutdown: informers, the database connection, drift checks, leader election, the health and
 * metrics servers, and the webhook with the accept endpoint. Every replica keeps its caches warm (the webhook reads
 * them); only the leader runs the controllers' workers.
 */
export class Operator {
  readonly shared: ControllerContext;
  readonly controllers: Record<
    'account' | 'workspace' | 'invitation' | 'claims' | 'connection' | 'databaseserver',
    Controller
  >;
  readonly leader: LeaderElector | undefined;
  webhook: Serving | undefined;
  healthPort = 0;
  metricsPort = 0;
  private readonly abort = new AbortController();
  private readonly background: Promise<unknown>[] = [];
  private readonly servers: { close(): Promise<void> }[] = [];
  private readonly database: DatabaseHealth;
  private readonly drift: DriftChecks;
  private readonly startHooks: (() => void)[] = [];
  private controllersStarted = false;

  private constructor(
    private readonly opts: OperatorOptions,
    private readonly tracing: Tracing,
  ) {
    const { config, log } = opts;
    // Every informer, sleep and watch listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    this.shared = buildShared({ ...opts, fence: () => this.lapsedLeadership() });
    this.database = new DatabaseHealth(this.shared.db, this.shared.inventory, log, this.metrics);
    this.metrics.countFrom(kindSources(this.caches));
    new ProvisioningTimer(this.metrics, () => this.isLeader).watch(this.caches.workspaces);
    this.drift = new DriftChecks(this.shared.servers, {
      intervalMs: config.database.driftCheckIntervalMs,
      isLeader: () => this.isLeader,
      log,
    });
    const controllerLog = log.child({ component: 'controller' });
    const mgr: SetupContext = {
      ...this.shared,
      controller: (reconciler) =>
        new Controller(reconciler, {
          workers: config.workers,
          log: controllerLog,
          metrics: this.metrics,
        }),
      onDriftCheck: (check) => this.drift.add(check),
      onStart: (hook) => this.startHooks.push(hook),
      synced: () => this.synced,
      signal: this.abort.signal,
    };
    const mailer = opts.mailer ?? createMailer(config, log.child({ component: 'mailer' }));
    this.controllers = {
      workspace: setupWorkspace(mgr),
      account: setupAccount(mgr),
      invitation: setupInvitation(mgr, mailer),
      claims: setupClaims(mgr),
      connection: setupConnection(mgr),
      databaseserver: setupDatabaseServer(mgr),
    };
    this.leader = config.leaderElection.enabled
      ? new LeaderElector(this.api, {
          ...config.leaderElection,
          log: log.child({ component: 'leader-election' }),
        })
      : undefined;
    if (this.leader) this.metrics.trackLeader(config.leaderElection.name, () => this.isLeader);
  }

  /**
   * Why a write must not be sent now, if it must not: it comes from a reconcile (the leader's work), and this
   * replica led and cannot be sure it still does. What every replica does whether it leads or not (the webhook's
   * claims and certificates, the accept endpoint, the database set-up) is not the leader's to fence.
   */
  private lapsedLeadership(): string | undefined {
    return this.leader?.lapsed && inReconcile()
      ? 'the leader Lease lapsed (not renewed within the renew deadline)'
      : undefined;
  }

  static async start(opts: OperatorOptions): Promise<Operator> {
    // First, so that the start's own requests and SQL are traced too.
    const op = new Operator(opts, await startTracing(opts.config.tracing, opts.log));
    await op.run();
    return op;
  }

  get api(): Api {
    return this.shared.api;
  }
  get caches(): Caches {
    return this.shared.caches;
  }
  get metrics(): Metrics {
    return this.shared.metrics;
  }

  get isLeader(): boolean {
    return this.leader ? this.leader.isLeader : this.controllersStarted;
  }

  get synced(): boolean {
    return Object.values(this.caches).every((i) => i.hasSynced);
  }

  private async run(): Promise<void> {
    const { config, log } = this.opts;
    const signal = this.abort.signal;
    const served = await serveHealth(config, this.metrics, this.database, {
      synced: () => this.synced,
      serving: () => !config.webhook.enabled || this.webhook !== undefined,
      controllersStarted: () => this.controllersStarted,
    });
    this.servers.push(...served.servers);
    ({ healthPort: this.healthPort, metricsPort: this.metricsPort } = served);

    // Reconciles that failed while the API server was away are retried as soon as it answers again.
    const retryNow = () => {
      for (const controller of Object.values(this.controllers)) controller.queue.retryBackedOffNow();
    };
    for (const informer of Object.values(this.caches)) {
      informer.onRecovered(retryNow);
      this.background.push(informer.run(signal));
    }
    this.background.push(this.database.connect(signal), this.drift.run(signal));
    const startControllers = () => this.background.push(this.startControllers(signal));
    if (this.leader) {
      let stopped = false;
      const stepDown = (reason: string) => {
        if (stopped) return;
        stopped = true;
        void this.stopControllers();
        this.opts.onFatal?.(reason);
      };
      const onStarted = () => {
        const { namespace, name, identity } = config.leaderElection;
        this.shared.servers.lead({ lease: `${namespace}/${name}`, identity, onFenced: stepDown });
        startControllers();
      };
      const onStopped = () => stepDown('lost the leader Lease');
      this.background.push(this.leader.run(signal, { onStarted, onStopped }));
    } else startControllers();
    if (config.webhook.enabled) {
      const serving = Serving.startWhenSynced({
        ...this.shared,
        log: log.child({ component: 'webhook' }),
        signal,
      });
      this.background.push(serving.then((s) => (this.webhook = s)));
    }
    log.info({ healthPort: this.healthPort, metricsPort: this.metricsPort }, 'operator started');
  }

  /** Once the caches are synced and the tenant inventory loaded, the controllers may act on what they read. */
  private async startControllers(signal: AbortSignal): Promise<void> {
    await Promise.all(Object.values(this.caches).map((i) => i.waitForSync(signal)));
    while (!signal.aborted && !this.shared.inventory.isLoaded) await sleep(100, signal);
    if (signal.aborted) return;
    this.controllersStarted = true;
    this.opts.log.info('starting controllers');
    for (const hook of this.startHooks) hook();
    const { claims, ...kinds } = this.controllers;
    for (const controller of Object.values(kinds)) controller.start();
    // Claims exist for the webhook; without it nothing creates or needs them.
    if (this.opts.config.webhook.enabled) claims.start();
  }

  private async stopControllers(): Promise<void> {
    await Promise.all(Object.values(this.controllers).map((c) => c.stop()));
  }

  /** Graceful stop: no new work, in-flight reconciles finish, the Lease is released, everything closes. */
  async stop(): Promise<void> {
    this.opts.log.info('stopping: finishing reconciles in flight');
    await this.stopControllers();
    this.abort.abort();
    await Promise.allSettled(this.background);
    await this.webhook?.stop();
    await Promise.all(this.servers.map((s) => s.close()));
    await this.shared.servers.close();
    this.opts.kube.close();
    // Last: the spans of everything above are flushed to the collector before the process exits.
    await this.tracing.shutdown();
    this.opts.log.info('stopped');
  }
}

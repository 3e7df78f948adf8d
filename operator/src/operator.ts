import { setMaxListeners } from 'node:events';
import { Labels } from './api/v1alpha1/group.js';
import { buildCaches } from './caches.js';
import type { Config } from './config.js';
import { AccountReconciler } from './controllers/account/reconcile.js';
import type { Caches, ControllerContext } from './controllers/context.js';
import { OrphanReport } from './controllers/account/orphans.js';
import { OVER_PLAN_LIMIT } from './controllers/workspace/desired.js';
import { WorkspaceReconciler } from './controllers/workspace/reconcile.js';
import { ClaimReconciler } from './controllers/claims/reconcile.js';
import { InvitationReconciler } from './controllers/invitation/reconcile.js';
import { createMailer, type Mailer } from './invitations/mailer.js';
import { Webhook } from './webhook/index.js';
import { Database } from './db/database.js';
import { TenantInventory } from './db/inventory.js';
import { tenantNames } from './db/names.js';
import { errorMessage, isCode } from './errors.js';
import { healthHandler, listen, metricsHandler } from './http.js';
import { Api } from './kube/api.js';
import type { KubeClient } from './kube/client.js';
import { Controller } from './kube/controller.js';
import { EventRecorder } from './kube/events.js';
import { keyOf, sleep, type CachedObject } from './kube/informer.js';
import { LeaderElector } from './kube/leader.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';

export interface OperatorOptions {
  config: Config;
  kube: KubeClient;
  log: Logger;
  metrics?: Metrics;
  /** The clock the controllers read (tests inject one). */
  now?: () => Date;
  /** Delivers invitation links; by default SMTP when configured (see createMailer). */
  mailer?: Mailer;
  /** Called when the operator cannot go on (lost leadership); main exits the process, as controller-runtime does. */
  onFatal?: (reason: string) => void;
}

const DB_RETRY_MS = 2_000;
/** How long after a Workspace deletion the operator looks for what it may have left behind. */
const ORPHAN_SCAN_DELAY_MS = 2_000;
/**
 * How long an account waits after a workspace comes or goes before it recounts: a burst of creates is one status
 * write per account, not one per workspace. The count is for people; the webhook and the quota, which enforce the
 * limit, do not read it.
 */
const COUNT_REFRESH_MS = 1_000;

/** A workspace that waits for a free place in its account's plan. */
const waitsForPlan = (w: CachedObject): boolean =>
  ((w.status as { conditions?: { type: string; reason?: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.reason === OVER_PLAN_LIMIT,
  );

/**
 * The operator: informers for its kinds and for the children it labels, one controller per kind, leader
 * election, health and metrics. Every replica keeps its caches warm (the webhook reads them); only the leader
 * runs the controllers' workers.
 */
export class Operator {
  readonly metrics: Metrics;
  readonly api: Api;
  readonly db: Database;
  readonly inventory: TenantInventory;
  readonly caches: Caches;
  readonly orphans: OrphanReport;
  private orphanScan: NodeJS.Timeout | undefined;
  private readonly events: EventRecorder;
  readonly controllers: {
    account: Controller;
    workspace: Controller;
    invitation: Controller;
    claims: Controller;
  };
  webhook: Webhook | undefined;
  readonly leader: LeaderElector | undefined;
  private readonly abort = new AbortController();
  private readonly background: Promise<unknown>[] = [];
  private servers: { close(): Promise<void> }[] = [];
  private dbHealthy = false;
  /** The clock of the controllers and the accept endpoint. */
  private readonly now: () => Date;
  private lastDbProbe = 0;
  private controllersStarted = false;
  healthPort = 0;
  metricsPort = 0;

  private constructor(private readonly opts: OperatorOptions) {
    const { config, kube, log } = opts;
    this.now = opts.now ?? (() => new Date());
    // Every informer, sleep and watch listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    this.metrics = opts.metrics ?? new Metrics({ processMetrics: true });
    kube.onRequest(this.metrics.observeApiRequest);
    this.api = new Api(kube);
    this.db = new Database({
      url: config.database.url,
      poolSize: config.database.poolSize,
      databaseName: config.database.databaseName,
      tenantGroup: config.database.tenantGroup,
      tenantConnectionLimit: config.database.tenantConnectionLimit,
      log: log.child({ component: 'database' }),
      metrics: this.metrics,
      fence: () => this.lapsedLeadership(),
    });
    this.inventory = new TenantInventory(this.db, config.database.namePrefix);

    this.caches = buildCaches(this.api, config, log);
    this.orphans = new OrphanReport(this.caches, this.inventory, config.database.namePrefix);

    this.events = new EventRecorder(this.api, {
      controller: 'taskjuice.io/workspace-operator',
      instance: config.leaderElection.identity,
      log,
    });
    const ctx: ControllerContext = {
      api: this.api,
      db: this.db,
      inventory: this.inventory,
      config,
      caches: this.caches,
      events: this.events,
      orphans: this.orphans,
      now: this.now,
    };
    const controllerLog = log.child({ component: 'controller' });
    const controller = (
      reconciler: AccountReconciler | WorkspaceReconciler | InvitationReconciler | ClaimReconciler,
    ) =>
      new Controller(
        {
          name: reconciler.name,
          reconcile: async (key, l) => {
            try {
              const result = await reconciler.reconcile(key, l);
              if (!this.dbHealthy && this.inventory.isLoaded) this.dbHealthy = true;
              return result;
            } catch (err) {
              if (isCode(err, 'Database')) this.dbHealthy = false;
              throw err;
            }
          },
        },
        { workers: config.workers, log: controllerLog, metrics: this.metrics },
      );
    this.controllers = {
      account: controller(new AccountReconciler(ctx)),
      workspace: controller(new WorkspaceReconciler(ctx)),
      invitation: controller(
        new InvitationReconciler(
          ctx,
          opts.mailer ?? createMailer(config, log.child({ component: 'mailer' })),
        ),
      ),
      claims: controller(
        new ClaimReconciler(ctx, this.caches.claims, config.namespace, config.webhook.claimGraceMs),
      ),
    };
    this.wireEvents();

    this.leader = config.leaderElection.enabled
      ? new LeaderElector(this.api, {
          namespace: config.leaderElection.namespace,
          name: config.leaderElection.name,
          identity: config.leaderElection.identity,
          leaseDurationMs: config.leaderElection.leaseDurationMs,
          renewDeadlineMs: config.leaderElection.renewDeadlineMs,
          retryPeriodMs: config.leaderElection.retryPeriodMs,
          log: log.child({ component: 'leader-election' }),
        })
      : undefined;
    kube.fenceWrites(() => this.lapsedLeadership());
  }

  /** Why this replica must not write now, if it must not: it led, and cannot be sure it still does. */
  private lapsedLeadership(): string | undefined {
    return this.leader?.lapsed
      ? 'the leader Lease lapsed (not renewed within the renew deadline)'
      : undefined;
  }

  /** Maps every event to the keys it concerns. Duplicate keys merge in the queues. */
  private wireEvents(): void {
    const { account, workspace, invitation, claims } = this.controllers;
    const invitationsOf = (accountName: string, slug?: string) => {
      for (const inv of caches.invitations.inNamespace(accountName)) {
        if (slug === undefined || (inv.spec as { workspace?: unknown } | undefined)?.workspace === slug)
          invitation.enqueue(keyOf(inv));
      }
    };
    const { caches } = this;
    const workspacesOf = (accountName: string) => {
      for (const ws of caches.workspaces.inNamespace(accountName)) workspace.enqueue(keyOf(ws));
    };

    caches.accounts.on({
      add: (a) => {
        account.enqueue(a.metadata.name);
        claims.enqueue(a.metadata.name);
        workspacesOf(a.metadata.name);
        invitationsOf(a.metadata.name);
      },
      update: (old, a) => {
        account.enqueue(a.metadata.name);
        claims.enqueue(a.metadata.name);
        if (old.metadata.generation !== a.metadata.generation) invitationsOf(a.metadata.name);
        // Teammates feed the staff binding of every workspace; the uid feeds their namespaces' owner reference.
        if (old.metadata.generation !== a.metadata.generation || old.metadata.uid !== a.metadata.uid)
          workspacesOf(a.metadata.name);
      },
      delete: (a) => {
        claims.enqueue(a.metadata.name);
        workspacesOf(a.metadata.name);
      },
    });
    caches.workspaces.on({
      add: (w) => {
        workspace.enqueue(keyOf(w));
        // A workspace back under its old name adopts what it left: the report on its account clears.
        if (w.metadata.namespace && this.orphans.of(w.metadata.namespace).length > 0) this.scanOrphansSoon();
        if (w.metadata.namespace) {
          account.enqueueAfter(w.metadata.namespace, COUNT_REFRESH_MS);
          invitationsOf(w.metadata.namespace, w.metadata.name);
        }
      },
      update: (_, w) => workspace.enqueue(keyOf(w)),
      delete: (w) => {
        workspace.enqueue(keyOf(w));
        this.scanOrphansSoon();
        if (w.metadata.namespace) {
          account.enqueueAfter(w.metadata.namespace, COUNT_REFRESH_MS);
          invitationsOf(w.metadata.namespace, w.metadata.name);
          // A place in the plan is free: the workspaces waiting for one look again.
          for (const other of caches.workspaces.inNamespace(w.metadata.namespace)) {
            if (waitsForPlan(other)) workspace.enqueue(keyOf(other));
          }
        }
      },
    });
    const invitationChanged = (inv: CachedObject) => {
      invitation.enqueue(keyOf(inv));
      if (inv.metadata.namespace) claims.enqueue(inv.metadata.namespace);
      const ws = (inv.spec as { workspace?: unknown } | undefined)?.workspace;
      if (typeof ws === 'string' && inv.metadata.namespace)
        workspace.enqueue(`${inv.metadata.namespace}/${ws}`);
    };
    caches.invitations.on({ add: invitationChanged, update: invitationChanged, delete: invitationChanged });

    // Children: an update or delete by someone else brings their owner back for repair. Adds are the operator's
    // own creations (or the initial list), whose owners are queued already.
    const child = (obj: CachedObject) => {
      const labels = obj.metadata.labels ?? {};
      const acct = labels[Labels.account];
      if (!acct) return;
      if (labels[Labels.component] === 'home') account.enqueue(acct);
      else if (labels[Labels.component] === 'workspace' && labels[Labels.workspace]) {
        workspace.enqueue(`${acct}/${labels[Labels.workspace]}`);
      }
    };
    for (const informer of [
      caches.namespaces,
      caches.roleBindings,
      caches.networkPolicies,
      caches.secrets,
      caches.quotas,
    ]) {
      informer.on({ update: (_, o) => child(o), delete: child });
    }
    const claimChanged = (c: CachedObject) => {
      const acct = c.metadata.labels?.[Labels.account];
      if (acct) claims.enqueue(acct);
    };
    caches.claims.on({ add: claimChanged, update: (_, c) => claimChanged(c), delete: claimChanged });
  }

  /**
   * Looks for what deleted workspaces left behind, once the events of a burst have settled; the accounts whose
   * findings changed reconcile again to report them.
   */
  private scanOrphansSoon(delayMs = ORPHAN_SCAN_DELAY_MS): void {
    if (this.orphanScan) return;
    this.orphanScan = setTimeout(() => {
      this.orphanScan = undefined;
      this.scanOrphans();
    }, delayMs);
  }

  private scanOrphans(): void {
    if (!this.synced || !this.inventory.isLoaded) return;
    for (const account of this.orphans.scan()) this.controllers.account.enqueue(account);
    for (const [kind, n] of Object.entries(this.orphans.counts())) this.metrics.orphans.set({ kind }, n);
  }

  static async start(opts: OperatorOptions): Promise<Operator> {
    const op = new Operator(opts);
    await op.run();
    return op;
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

    const health = await listen(
      healthHandler([
        { name: 'informers', ok: () => this.synced },
        { name: 'webhook', ok: () => !this.opts.config.webhook.enabled || this.webhook !== undefined },
        // Admission needs no database: an outage of it slows provisioning, never the webhook.
        { name: 'database', ok: () => this.databaseReady(), informational: true },
        { name: 'controllers', ok: () => this.controllersStarted, informational: true },
      ]),
      config.http.bindAddress,
      config.http.healthPort,
    );
    const metrics = await listen(
      metricsHandler(this.metrics),
      config.http.bindAddress,
      config.http.metricsPort,
    );
    this.servers.push(health, metrics);
    this.healthPort = health.port;
    this.metricsPort = metrics.port;

    for (const informer of Object.values(this.caches)) this.background.push(informer.run(signal));
    this.background.push(this.connectDatabase(signal));
    this.background.push(this.driftChecks(signal));

    const startControllers = () => {
      this.background.push(
        this.waitUntilUsable(signal).then(() => {
          if (signal.aborted) return;
          this.controllersStarted = true;
          this.opts.log.info('starting controllers');
          this.scanOrphans();
          this.controllers.account.start();
          this.controllers.workspace.start();
          this.controllers.invitation.start();
          // Claims exist for the webhook; without it nothing creates or needs them.
          if (this.opts.config.webhook.enabled) this.controllers.claims.start();
        }),
      );
    };
    if (this.leader) {
      this.background.push(
        this.leader.run(signal, {
          onStarted: startControllers,
          onStopped: () => {
            void this.stopControllers();
            this.opts.onFatal?.('lost the leader Lease');
          },
        }),
      );
    } else startControllers();
    if (config.webhook.enabled) this.background.push(this.startWebhook(signal));
    log.info({ healthPort: health.port, metricsPort: metrics.port }, 'operator started');
  }

  /**
   * Every replica serves the webhook, once its caches are synced: answering earlier would count workspaces in an
   * empty cache. Until then the replica is not ready, and the API server's calls go to a replica that is.
   */
  private async startWebhook(signal: AbortSignal): Promise<void> {
    await Promise.all(Object.values(this.caches).map((i) => i.waitForSync(signal)));
    while (!signal.aborted && !this.webhook) {
      try {
        this.webhook = await Webhook.start({
          config: this.opts.config,
          api: this.api,
          caches: this.caches,
          metrics: this.metrics,
          events: this.events,
          log: this.opts.log.child({ component: 'webhook' }),
          signal,
          now: this.now,
        });
      } catch (err) {
        this.opts.log.warn({ err: errorMessage(err) }, 'webhook could not start; retrying');
        await sleep(DB_RETRY_MS, signal);
      }
    }
  }

  /** Caches synced and the tenant inventory loaded: controllers may act on what they read. */
  private async waitUntilUsable(signal: AbortSignal): Promise<void> {
    await Promise.all(Object.values(this.caches).map((i) => i.waitForSync(signal)));
    while (!signal.aborted && !this.inventory.isLoaded) await sleep(100, signal);
  }

  /** Bootstrap and the first inventory load, retried until PostgreSQL answers. */
  private async connectDatabase(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.db.bootstrap();
        await this.inventory.refresh();
        this.dbHealthy = true;
        return;
      } catch (err) {
        this.opts.log.warn({ err: errorMessage(err) }, 'PostgreSQL is not ready; retrying');
        await sleep(DB_RETRY_MS, signal);
      }
    }
  }

  /**
   * Ready means the database answered. While it is healthy nothing is sent to probe it (an idle operator sends no
   * SQL); after a failure, a probe re-checks at most every two seconds.
   */
  private async databaseReady(): Promise<boolean> {
    if (this.dbHealthy) return true;
    if (!this.inventory.isLoaded || Date.now() - this.lastDbProbe < DB_RETRY_MS) return false;
    this.lastDbProbe = Date.now();
    try {
      await this.db.ping();
      this.dbHealthy = true;
    } catch {
      this.dbHealthy = false;
    }
    return this.dbHealthy;
  }

  /** Re-reads the inventory now and then, and brings back every workspace whose schema or role disappeared. */
  private async driftChecks(signal: AbortSignal): Promise<void> {
    const { config } = this.opts;
    for (;;) {
      await sleep(config.database.driftCheckIntervalMs, signal);
      if (signal.aborted) return;
      if (!this.isLeader || !this.inventory.isLoaded) continue;
      try {
        await this.inventory.refresh();
        for (const ws of this.caches.workspaces.list()) {
          const names = tenantNames(
            config.database.namePrefix,
            ws.metadata.namespace ?? '',
            ws.metadata.name,
          );
          if (!ws.metadata.deletionTimestamp && !this.inventory.has(names))
            this.controllers.workspace.enqueue(keyOf(ws));
        }
        this.scanOrphans();
      } catch (err) {
        this.opts.log.warn({ err: errorMessage(err) }, 'drift check failed');
      }
    }
  }

  private async stopControllers(): Promise<void> {
    await Promise.all(Object.values(this.controllers).map((c) => c.stop()));
  }

  /** Graceful stop: no new work, in-flight reconciles finish, the Lease is released, everything closes. */
  async stop(): Promise<void> {
    this.opts.log.info('stopping: finishing reconciles in flight');
    clearTimeout(this.orphanScan);
    await this.stopControllers();
    this.abort.abort();
    await Promise.allSettled(this.background);
    await this.webhook?.stop();
    await Promise.all(this.servers.map((s) => s.close()));
    await this.db.close();
    this.opts.kube.close();
    this.opts.log.info('stopped');
  }
}

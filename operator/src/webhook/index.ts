import { z } from 'zod';
import type { Caches } from '../caches.js';
import type { Config } from '../config.js';
import type { Claims } from '../domain/claims.js';
import type { Api } from '../kube/api.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ServingMaterial } from '../tls/certs.js';
import { ClientCaFile } from '../tls/client-auth.js';
import { CacheView } from './cache-view.js';
import { WebhookServer } from './server.js';

const SelfSubjectReview = z.object({ status: z.object({ userInfo: z.object({ username: z.string() }) }) });

/** Who the operator is to the API server, so the webhook recognises the operator's own deletions. */
export async function whoAmI(api: Api): Promise<string> {
  const review = await api.client.request({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  return SelfSubjectReview.parse(review).status.userInfo.username;
}

export interface WebhookOptions {
  config: Config;
  api: Api;
  caches: Caches;
  claims: Claims;
  metrics: Metrics;
  log: Logger;
  signal: AbortSignal;
}

/** The admission webhook of one replica: its listener serves the API server alone (see README, who may call what). */
export class Webhook {
  private constructor(
    private readonly server: WebhookServer,
    readonly port: number,
  ) {}

  /**
   * Starts the listener. The serving material is asked for last, right before listening: getting it publishes the
   * CA bundle, after which the API server calls, so nothing slow (who the operator is, the client CA) comes between.
   */
  static async start(opts: WebhookOptions, material: () => Promise<ServingMaterial>): Promise<Webhook> {
    const { config, api, caches, log } = opts;
    const self = await whoAmI(api);
    const clientCa = config.webhook.clientCaFile
      ? new ClientCaFile(config.webhook.clientCaFile, log)
      : undefined;
    const server = new WebhookServer({
      view: new CacheView(caches, api, config, self),
      claims: opts.claims,
      log,
      metrics: opts.metrics,
      host: config.http.bindAddress,
      port: config.webhook.port,
      clientAuth: clientCa && { ca: await clientCa.current(), names: config.webhook.clientNames },
    });
    const port = await server.start(await material());
    if (clientCa) {
      clientCa.on((ca) => server.reloadClientCa(ca));
      void clientCa.run(opts.signal);
    }
    log.info({ port, clientAuth: clientCa !== undefined }, 'webhook serving');
    return new Webhook(server, port);
  }

  reload(material: ServingMaterial): void {
    this.server.reload(material);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

import { z } from 'zod';
import type { Config } from '../config.js';
import type { Caches } from '../controllers/context.js';
import { errorMessage } from '../errors.js';
import type { Api } from '../kube/api.js';
import type { Logger } from '../log.js';
import type { EventRecorder } from '../kube/events.js';
import type { Metrics } from '../metrics.js';
import { CacheView } from './cache-view.js';
import { FileCertificates, SelfSignedCertificates, type CertificateSource } from './certs.js';
import { Claims } from './claims.js';
import { WebhookServer } from './server.js';
import { AcceptHandler } from '../invitations/accept.js';

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
  metrics: Metrics;
  /** Events on the objects the HTTPS routes change (an invitation accepted). */
  events: EventRecorder;
  log: Logger;
  signal: AbortSignal;
  now: () => Date;
}

/** The admission webhook of one replica: its certificates, its view of the caches, and its HTTPS server. */
export class Webhook {
  private constructor(
    readonly server: WebhookServer,
    readonly certificates: CertificateSource,
    readonly port: number,
  ) {}

  static async start(opts: WebhookOptions): Promise<Webhook> {
    const { config, api, caches, metrics, log, signal } = opts;
    const self = await whoAmI(api);
    const certificates: CertificateSource =
      config.webhook.certMode === 'files'
        ? new FileCertificates(config.webhook.certDir)
        : new SelfSignedCertificates({
            api,
            namespace: config.namespace,
            secretName: config.webhook.secretName,
            configurationName: config.webhook.configurationName,
            dnsNames: config.webhook.dnsNames,
            ipAddresses: config.webhook.ipAddresses,
            validityDays: config.webhook.certValidityDays,
            log,
          });
    const claims = new Claims(api, config.namespace);
    const server = new WebhookServer({
      view: new CacheView(caches, api, config, self),
      claims,
      log,
      metrics,
      host: config.http.bindAddress,
      port: config.webhook.port,
    });
    // Invitation links land on the same HTTPS server: one certificate, one port, one Service.
    server.route(
      '/accept',
      new AcceptHandler({ api, caches, claims, events: opts.events, now: opts.now, log }).route,
    );
    const port = await server.start(await certificates.current());
    certificates.on((m) => server.reload(m));
    void certificates.run(signal);
    if (certificates instanceof SelfSignedCertificates) {
      // Another replica rotated: load what it wrote.
      const isOurs = (o: { metadata: { name: string; namespace?: string } }) =>
        o.metadata.name === config.webhook.secretName && o.metadata.namespace === config.namespace;
      caches.secrets.on({
        update: (_, s) => {
          if (isOurs(s))
            certificates
              .sync()
              .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'certificate reload failed'));
        },
      });
    }
    log.info({ port, certMode: config.webhook.certMode }, 'webhook serving');
    return new Webhook(server, certificates, port);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

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
import { ClientCaFile } from './client-auth.js';
import { WebhookServer } from './server.js';
import { AcceptHandler } from '../invitations/accept.js';
import { AcceptServer } from '../invitations/accept-server.js';
import { TokenIndex } from '../invitations/token-index.js';

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

/**
 * The HTTPS side of one replica: the admission webhook (for the API server alone) and the invitation accept
 * endpoint (public), on listeners of their own that share the serving certificate.
 */
export class Webhook {
  private constructor(
    readonly server: WebhookServer,
    readonly acceptServer: AcceptServer,
    readonly certificates: CertificateSource,
    readonly port: number,
    readonly acceptPort: number,
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
    const clientCa = config.webhook.clientCaFile
      ? new ClientCaFile(config.webhook.clientCaFile, log)
      : undefined;
    const server = new WebhookServer({
      view: new CacheView(caches, api, config, self),
      claims,
      log,
      metrics,
      host: config.http.bindAddress,
      port: config.webhook.port,
      clientAuth: clientCa && { ca: await clientCa.current(), names: config.webhook.clientNames },
    });
    const tokens = new TokenIndex();
    tokens.reset(caches.invitations.list());
    const acceptServer = new AcceptServer({
      host: config.http.bindAddress,
      port: config.invitations.acceptPort,
      handler: new AcceptHandler({ api, caches, claims, events: opts.events, tokens, now: opts.now, log }),
      limits: config.invitations.rate,
      log,
    });
    const material = await certificates.current();
    const port = await server.start(material);
    const acceptPort = await acceptServer.start(material).catch(async (err: unknown) => {
      await server.stop();
      throw err;
    });
    // Registered once both listeners are up, so a failed start (it is retried) leaves no handler behind; the
    // reset takes in what changed since the first one.
    caches.invitations.on(tokens.handlers);
    tokens.reset(caches.invitations.list());
    certificates.on((m) => {
      server.reload(m);
      acceptServer.reload(m);
    });
    void certificates.run(signal);
    if (clientCa) {
      clientCa.on((ca) => server.reloadClientCa(ca));
      void clientCa.run(signal);
    }
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
    log.info(
      { port, acceptPort, certMode: config.webhook.certMode, clientAuth: clientCa !== undefined },
      'webhook serving',
    );
    return new Webhook(server, acceptServer, certificates, port, acceptPort);
  }

  async stop(): Promise<void> {
    await Promise.all([this.server.stop(), this.acceptServer.stop()]);
  }
}

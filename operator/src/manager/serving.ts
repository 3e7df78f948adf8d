import type { Caches } from '../caches.js';
import type { Config } from '../config.js';
import { Claims } from '../domain/claims.js';
import { errorMessage } from '../errors.js';
import { AcceptEndpoint } from '../invitations/endpoint.js';
import type { Api } from '../kube/api.js';
import type { EventRecorder } from '../kube/events.js';
import { sleep } from '../kube/informer.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  FileCertificates,
  SelfSignedCertificates,
  expiresAtSeconds,
  type CertificateSource,
} from '../tls/certs.js';
import { Webhook } from '../webhook/index.js';

const RETRY_MS = 2_000;

export interface ServingOptions {
  config: Config;
  api: Api;
  caches: Caches;
  metrics: Metrics;
  events: EventRecorder;
  now: () => Date;
  log: Logger;
  signal: AbortSignal;
}

/**
 * The HTTPS side of one replica: the admission webhook (for the API server alone) and the invitation accept
 * endpoint (public), on listeners of their own that share one serving certificate.
 */
export class Serving {
  private constructor(
    readonly certificates: CertificateSource,
    readonly webhook: Webhook,
    readonly accept: AcceptEndpoint,
  ) {}

  get port(): number {
    return this.webhook.port;
  }

  get acceptPort(): number {
    return this.accept.port;
  }

  /**
   * Every replica serves, once its caches are synced: answering earlier would count workspaces in an empty cache.
   * Until then the replica is not ready, and the API server's calls go to a replica that is. A failed start is
   * retried; undefined when the signal ended the wait.
   */
  static async startWhenSynced(opts: ServingOptions): Promise<Serving | undefined> {
    const { caches, signal, log } = opts;
    await Promise.all(Object.values(caches).map((i) => i.waitForSync(signal)));
    while (!signal.aborted) {
      try {
        return await Serving.start(opts);
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'webhook could not start; retrying');
        await sleep(RETRY_MS, signal);
      }
    }
    return undefined;
  }

  private static async start(opts: ServingOptions): Promise<Serving> {
    const { config, api, caches, log, signal } = opts;
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
    const webhook = await Webhook.start({ ...opts, claims }, () => certificates.current());
    const material = await certificates.current();
    const expiry = opts.metrics.webhookCertificateExpiry;
    expiry.set(expiresAtSeconds(material.certificate));
    const accept = await AcceptEndpoint.start({ ...opts, claims }, material).catch(async (err: unknown) => {
      await webhook.stop();
      throw err;
    });
    certificates.on((m) => {
      webhook.reload(m);
      accept.reload(m);
      expiry.set(expiresAtSeconds(m.certificate));
    });
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
    log.info({ certMode: config.webhook.certMode }, 'serving certificate loaded');
    return new Serving(certificates, webhook, accept);
  }

  async stop(): Promise<void> {
    await Promise.all([this.webhook.stop(), this.accept.stop()]);
  }
}

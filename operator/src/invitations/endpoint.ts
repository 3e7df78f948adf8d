import type { Caches } from '../caches.js';
import type { Config } from '../config.js';
import type { Claims } from '../domain/claims.js';
import type { Api } from '../kube/api.js';
import type { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';
import type { ServingMaterial } from '../tls/certs.js';
import { AcceptHandler } from './accept.js';
import { AcceptServer } from './accept-server.js';
import { TokenIndex } from './token-index.js';

export interface AcceptEndpointOptions {
  config: Config;
  api: Api;
  caches: Caches;
  claims: Claims;
  /** Events on the invitations it accepts. */
  events: EventRecorder;
  now: () => Date;
  log: Logger;
}

/**
 * The invitation accept endpoint of one replica: the public listener, the handler, and the token index it finds
 * invitations through, kept from the invitations informer.
 */
export class AcceptEndpoint {
  private constructor(
    private readonly server: AcceptServer,
    readonly port: number,
  ) {}

  static async start(opts: AcceptEndpointOptions, material: ServingMaterial): Promise<AcceptEndpoint> {
    const { config, caches, log } = opts;
    const tokens = new TokenIndex();
    tokens.reset(caches.invitations.list());
    const server = new AcceptServer({
      host: config.http.bindAddress,
      port: config.invitations.acceptPort,
      handler: new AcceptHandler({ ...opts, tokens }),
      limits: config.invitations.rate,
      log,
    });
    const port = await server.start(material);
    // Registered once the listener is up, so a failed start (it is retried) leaves no handler behind; the reset
    // takes in what changed since the first one.
    caches.invitations.on(tokens.handlers);
    tokens.reset(caches.invitations.list());
    log.info({ port }, 'accept endpoint serving');
    return new AcceptEndpoint(server, port);
  }

  reload(material: ServingMaterial): void {
    this.server.reload(material);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

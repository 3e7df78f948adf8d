import type { Logger } from '../log.js';
import type { ServingMaterial } from '../tls/certs.js';
import { HttpsServer } from '../tls/https-server.js';
import type { AcceptHandler } from './accept.js';
import { RateLimiter, type RateLimits } from './rate-limit.js';

/** A token travels in a form field or a small JSON object: 4 KiB leaves room for both and nothing else. */
export const ACCEPT_MAX_BODY_BYTES = 4 * 1024;

export interface AcceptServerOptions {
  host: string;
  port: number;
  handler: AcceptHandler;
  limits: RateLimits;
  log: Logger;
  now?: () => number;
}

/**
 * The invitation accept endpoint's own HTTPS listener. It is public (people's browsers, through an Ingress), so
 * it is apart from the webhook's, which serves the API server alone; every request is bounded in size and rate
 * before any work is done for it.
 */
export class AcceptServer {
  private readonly server: HttpsServer;

  constructor(opts: AcceptServerOptions) {
    const limiter = new RateLimiter(opts.limits, opts.now);
    this.server = new HttpsServer({
      host: opts.host,
      port: opts.port,
      log: opts.log,
      maxBodyBytes: ACCEPT_MAX_BODY_BYTES,
      routes: { '/accept': { methods: ['GET', 'POST'], handler: opts.handler.route } },
      admit: (req) => {
        const verdict = limiter.take(req.socket.remoteAddress ?? 'unknown');
        if (verdict.ok) return undefined;
        return {
          status: 429,
          headers: { 'Retry-After': String(verdict.retryAfterSeconds) },
          body: { message: 'Too many requests; try again in a moment.' },
        };
      },
    });
  }

  start(material: ServingMaterial): Promise<number> {
    return this.server.start(material);
  }

  reload(material: ServingMaterial): void {
    this.server.reload(material);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

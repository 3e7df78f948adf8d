import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { ServingMaterial } from './certs.js';
import { isAllowedClient } from './client-auth.js';

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

export interface RouteOptions {
  methods: readonly ('GET' | 'POST')[];
  handler: Route;
}

/** Who may open a connection: a client certificate from `ca`, carrying one of `names` (any, when empty). */
export interface ClientAuth {
  ca: string;
  names: readonly string[];
}

export interface HttpsServerOptions {
  host: string;
  port: number;
  log: Logger;
  maxBodyBytes: number;
  routes: Record<string, RouteOptions>;
  clientAuth?: ClientAuth | undefined;
  /** Runs before the body is read; returning an answer ends the request with it (a rate limit). */
  admit?: (req: IncomingMessage) => Answer | undefined;
}

/** What a refused client is told: the same words whatever was wrong, so a probe learns nothing. */
export const FORBIDDEN: Answer = { status: 403, body: { message: 'forbidden' } };

/**
 * One HTTPS listener with a fixed set of routes. New certificates are loaded with setSecureContext: connections
 * already open keep theirs, new handshakes get the new one, and no request is dropped. With client auth, a
 * handshake without a certificate the CA signed is refused by TLS itself, before any byte of a request is read.
 */
export class HttpsServer {
  private server: https.Server | undefined;
  private material: ServingMaterial | undefined;
  private clientAuth: ClientAuth | undefined;
  private readonly routes: Map<string, RouteOptions>;

  constructor(private readonly opts: HttpsServerOptions) {
    this.clientAuth = opts.clientAuth;
    this.routes = new Map(Object.entries(opts.routes));
  }

  private secureContext(material: ServingMaterial) {
    return {
      cert: material.certificate,
      key: material.privateKey,
      minVersion: 'TLSv1.2' as const,
      ...(this.clientAuth ? { ca: this.clientAuth.ca } : {}),
    };
  }

  async start(material: ServingMaterial): Promise<number> {
    this.material = material;
    const server = https.createServer(
      {
        ...this.secureContext(material),
        // Fixed for the server's life: only the CA in the secure context can change, so client auth cannot be
        // switched off by a reload.
        requestCert: this.clientAuth !== undefined,
        rejectUnauthorized: this.clientAuth !== undefined,
      },
      (req, res) => void this.handle(req, res),
    );
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** New serving material (a rotation). */
  reload(material: ServingMaterial): void {
    this.material = material;
    this.server?.setSecureContext(this.secureContext(material));
  }

  /** A new client CA bundle (the file changed); ignored on a server without client auth. */
  reloadClientCa(ca: string): void {
    if (!this.clientAuth || ca === this.clientAuth.ca) return;
    this.clientAuth = { ...this.clientAuth, ca };
    if (this.material) this.server?.setSecureContext(this.secureContext(this.material));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.clientAuth) {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        if (!(req.socket as TLSSocket).authorized || !isAllowedClient(peer, this.clientAuth.names)) {
          res.setHeader('Connection', 'close');
          return send(res, FORBIDDEN);
        }
      }
      const refused = this.opts.admit?.(req);
      if (refused) {
        req.resume();
        return send(res, refused);
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = this.routes.get(path);
      if (!route) return send(res, { status: 404, body: { message: 'not found' } });
      if (!route.methods.some((m) => m === req.method)) {
        return send(res, { status: 405, body: { message: `${req.method} is not allowed on ${path}` } });
      }
      const body = await readBody(req, this.opts.maxBodyBytes);
      if (body === 'too-large') {
        res.setHeader('Connection', 'close');
        return send(res, {
          status: 413,
          body: { message: `request bodies are limited to ${this.opts.maxBodyBytes} bytes` },
        });
      }
      await route.handler(req, res, body);
    } catch (err) {
      this.opts.log.error({ err: errorMessage(err) }, 'HTTPS request failed');
      if (!res.headersSent) send(res, { status: 500, body: { message: 'internal error' } });
      else res.destroy();
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5_000).unref();
    });
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      return resolve('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

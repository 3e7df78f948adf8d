import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { createAuthority, issueCertificate } from '../../src/tls/pki.js';
import { freePort } from '../local/processes.js';

/**
 * An HTTPS proxy in front of kube-apiserver, one per operator process, that sees every request (a TCP proxy sees
 * only TLS): it counts what that process asks, which is how the chaos tool tells which replica wrote, and it makes
 * the watch faults the API server never makes on its own:
 *
 * - `silent`: watch streams stay open and deliver nothing (a connection that died without a FIN);
 * - `gone`: open watches get an ERROR event with code 410 and end, new ones get the same at once.
 *
 * It forwards with the administrator's client certificate; the process behind it presents a certificate of the
 * proxy's own authority, which the proxy does not check (everything stays on loopback).
 */
export interface ApiRequest {
  at: number;
  method: string;
  path: string;
  /** When its TCP connection was accepted. */
  connectedAt: number;
  /** When the request before it on the same connection arrived (undefined for the connection's first). */
  previousAt: number | undefined;
}

const Kubeconfig = z.object({
  clusters: z.array(
    z.object({ cluster: z.object({ server: z.string(), 'certificate-authority-data': z.string() }) }),
  ),
  users: z.array(
    z.object({
      user: z.object({ 'client-certificate-data': z.string(), 'client-key-data': z.string() }),
    }),
  ),
});

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const GONE_EVENT = `${JSON.stringify({
  type: 'ERROR',
  object: {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason: 'Expired',
    code: 410,
    message: 'too old resource version (chaos proxy)',
  },
})}\n`;

export class ApiProxy {
  readonly requests: ApiRequest[] = [];
  upstreamErrors = 0;
  lastUpstreamError = '';
  private mode: 'pass' | 'silent' | 'gone' | 'down' = 'pass';
  private readonly sockets = new Set<Duplex>();
  private readonly watches = new Set<ServerResponse>();
  /** Watches silenced for good: a dead connection never comes back, only new ones work again. */
  private readonly silenced = new WeakSet<ServerResponse>();
  private server: https.Server | undefined;
  private agent: https.Agent | undefined;
  private upstream = { host: '', port: 0 };
  private tls = { ca: '', cert: '', key: '' };

  /** Starts it and writes a kubeconfig for the process behind it; returns that kubeconfig's path. */
  async start(adminKubeconfig: string, kubeconfigOut: string): Promise<string> {
    const config = Kubeconfig.parse(parse(readFileSync(adminKubeconfig, 'utf8')));
    const cluster = config.clusters[0]?.cluster;
    const user = config.users[0]?.user;
    if (!cluster || !user) throw new Error(`${adminKubeconfig} has no cluster or user`);
    const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    const url = new URL(cluster.server);
    this.upstream = { host: url.hostname, port: Number(url.port) };
    this.tls = {
      ca: b64(cluster['certificate-authority-data']),
      cert: b64(user['client-certificate-data']),
      key: b64(user['client-key-data']),
    };
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 512, ...this.tls });
    const ca = await createAuthority('chaos-api-proxy-ca', { days: 1 });
    const serving = await issueCertificate(ca, {
      commonName: 'chaos-api-proxy',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validFor: { days: 1 },
    });
    // A client certificate rather than a token: the kubeconfig then reads as the local platform's own do.
    const client = await issueCertificate(ca, {
      commonName: 'chaos-proxied',
      usage: 'client',
      validFor: { days: 1 },
    });
    const port = await freePort();
    const server = https.createServer({ cert: serving.certificate, key: serving.privateKey }, (req, res) =>
      this.forward(req, res),
    );
    server.on('connection', (socket) => {
      this.connectedAt.set(socket, performance.now());
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const b = (s: string) => Buffer.from(s).toString('base64');
    writeFileSync(
      kubeconfigOut,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'proxy',
            cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': b(ca.certificate) },
          },
        ],
        users: [
          {
            name: 'proxy',
            user: {
              'client-certificate-data': b(client.certificate),
              'client-key-data': b(client.privateKey),
            },
          },
        ],
        contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'proxy' } }],
        'current-context': 'proxy',
      }),
      { mode: 0o600 },
    );
    return kubeconfigOut;
  }

  private readonly connectedAt = new WeakMap<object, number>();
  /** When each connection's latest request arrived. */
  private readonly lastRequestAt = new WeakMap<object, number>();

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const socket = req.socket;
    const at = performance.now();
    const previousAt = this.lastRequestAt.get(socket);
    this.lastRequestAt.set(socket, at);
    const connectedAt = this.connectedAt.get(socket) ?? 0;
    this.requests.push({ at, method, path, connectedAt, previousAt });
    const watch = /[?&]watch=(true|1)/.test(path);
    if (this.mode === 'down') {
      req.socket.destroy();
      return;
    }
    if (watch && this.mode === 'gone') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(GONE_EVENT);
      return;
    }
    // The Host header names the upstream: Node checks the upstream's certificate against it.
    const headers = { ...req.headers, host: `${this.upstream.host}:${this.upstream.port}` };
    delete headers.authorization;
    const up = https.request(
      { host: this.upstream.host, port: this.upstream.port, method, path, headers, agent: this.agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (watch) {
          this.watches.add(res);
          if (this.mode === 'silent') this.silenced.add(res);
          res.on('close', () => {
            this.watches.delete(res);
            upRes.destroy();
          });
          upRes.on('data', (chunk: Buffer) => {
            // Not after expireWatches ended it, nor once silenced.
            if (!this.silenced.has(res) && !res.writableEnded) res.write(chunk);
          });
          upRes.on('end', () => {
            if (!this.silenced.has(res) && !res.writableEnded) res.end();
          });
        } else upRes.pipe(res);
      },
    );
    up.on('error', (err) => {
      this.upstreamErrors++;
      this.lastUpstreamError = err.message;
      res.destroy();
    });
    // A request's 'close' comes when its body is read; the response's, when the client is gone or it is sent.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  /**
   * Writes (create, update, patch, delete) other than the Lease's that arrived since `sinceMs` (performance.now()),
   * apart: `started` ones the process sent after that moment, and `inFlight` ones it had handed to a connection
   * before it, which reach the proxy only afterwards. Those are at most one per connection that was open before the
   * moment, its first request after it: a request whose TLS handshake the pause cut in two, or one Node had taken
   * into a socket's write queue when the process stopped (the write is sent from a later turn of the event loop,
   * after every check the operator can make). A process that decided to write after the moment cannot hide behind
   * that: its next write on the same connection, and every write on a new one, counts as started.
   */
  writesSince(sinceMs: number): { started: ApiRequest[]; inFlight: ApiRequest[] } {
    const writes = this.requests.filter(
      (r) => r.at >= sinceMs && WRITES.has(r.method) && !r.path.includes('/leases'),
    );
    const inFlight = writes.filter(
      (r) => r.connectedAt < sinceMs && (r.previousAt === undefined || r.previousAt < sinceMs),
    );
    return { started: writes.filter((r) => !inFlight.includes(r)), inFlight };
  }

  /** How many watches are open, and how many different collections were ever watched. */
  watchCounts(): { open: number; collections: number } {
    const watched = new Set(
      this.requests.filter((r) => /[?&]watch=(true|1)/.test(r.path)).map((r) => r.path.split('?')[0]),
    );
    return { open: this.watches.size, collections: watched.size };
  }

  /** Open watches deliver nothing from now on, and new ones nothing until `pass()`. */
  silenceWatches(): void {
    this.mode = 'silent';
    for (const res of this.watches) this.silenced.add(res);
  }

  /** As a restarting API server looks: every connection is dropped, and new requests too until `pass()`. */
  down(): void {
    this.mode = 'down';
    for (const socket of this.sockets) socket.destroy();
  }

  /** Ends every open watch with 410 Gone, and answers new ones so until `pass()`. */
  expireWatches(): void {
    this.mode = 'gone';
    for (const res of this.watches) res.end(GONE_EVENT);
  }

  pass(): void {
    this.mode = 'pass';
  }

  async stop(): Promise<void> {
    for (const res of this.watches) res.destroy();
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.agent?.destroy();
  }
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export interface Check {
  name: string;
  ok(): boolean | Promise<boolean>;
  /** Why it fails, when a person must act (no secrets: it is served to whoever reaches the port). */
  detail?(): string | undefined;
}

/** A plain HTTP server on a port; resolves once it listens (port 0 picks a free one). */
export async function listen(
  handler: http.RequestListener,
  host: string,
  port: number,
): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `/healthz` (the process answers) and `/readyz` (every check passes; the body lists them). */
export function healthHandler(readiness: Check[]): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      void Promise.all(
        readiness.map(async (c) => {
          const pass = await Promise.resolve(c.ok()).catch(() => false);
          return [c.name, pass, pass ? undefined : c.detail?.()] as const;
        }),
      ).then((results) => {
        const ok = results.every(([, pass]) => pass);
        const body = results
          .map(
            ([name, pass, why]) =>
              `[${pass ? '+' : '-'}]${name} ${pass ? 'ok' : 'failed'}${why ? `: ${why}` : ''}`,
          )
          .join('\n');
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${body}\n`);
      });
      return;
    }
    res.writeHead(404).end();
  };
}

/** Prometheus `/metrics`. */
export function metricsHandler(metrics: Metrics): http.RequestListener {
  return (req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  };
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export interface Check {
  name: string;
  ok(): boolean | Promise<boolean>;
  /**
   * Reported, but not part of `/readyz`: a replica whose database is down still answers admission reviews, and
   * must stay an endpoint of the webhook's Service for that. `/readyz/<name>` asks for one check alone.
   */
  informational?: boolean;
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

/**
 * `/healthz` (the process answers); `/readyz` (every check that gates readiness passes; the body lists them all,
 * informational ones marked so); `/readyz/<name>` (that one check).
 */
export function healthHandler(checks: Check[]): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    const one = path.startsWith('/readyz/') ? checks.find((c) => `/readyz/${c.name}` === path) : undefined;
    if (path !== '/readyz' && !one) {
      res.writeHead(404).end();
      return;
    }
    const asked = one ? [one] : checks;
    void Promise.all(
      asked.map(async (c) => {
        const pass = await Promise.resolve(c.ok()).catch(() => false);
        return { check: c, pass, why: pass ? undefined : c.detail?.() };
      }),
    ).then((results) => {
      const ok = results.every(({ check, pass }) => pass || (check.informational && !one));
      const body = results
        .map(
          ({ check, pass, why }) =>
            `[${pass ? '+' : '-'}]${check.name} ${pass ? 'ok' : 'failed'}${why ? `: ${why}` : ''}${check.informational && !one ? ' (not required for readiness)' : ''}`,
        )
        .join('\n');
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${body}\n`);
    });
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

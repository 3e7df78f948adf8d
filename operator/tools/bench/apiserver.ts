/**
 * The API server's own /metrics, read with the platform's admin kubeconfig: what every client asked of it and
 * what it sent to watchers during one phase, so the floor and the operator can be compared on the server's side.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';
import { fixed, row } from './common.js';
import { byLabel, parseExposition, total, type Sample } from './prometheus.js';

interface AdminKubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

/** A scraper of the API server's /metrics. */
export function apiServerMetrics(kubeconfigPath: string): () => Promise<Sample[]> {
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as AdminKubeconfig;
  const cluster = config.clusters[0]?.cluster;
  const user = config.users[0]?.user;
  if (!cluster || !user) throw new Error(`${kubeconfigPath}: no cluster or user`);
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const tls = {
    ca: b64(cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  };
  return () =>
    new Promise((resolve, reject) => {
      const req = request(new URL('/metrics', cluster.server), tls, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(parseExposition(Buffer.concat(chunks).toString('utf8'))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}

/** Per workspace: requests by resource (every client's, watches left out) and watch events sent, by resource. */
export function apiServerLines(counts: Sample[], n: number, who: string): string[] {
  const notWatch = (l: Record<string, string>) => l.verb !== 'WATCH';
  const requests = total(counts, 'apiserver_request_total', notWatch);
  const byResource = [...byLabel(counts, 'apiserver_request_total', 'resource', notWatch).entries()]
    .filter(([, v]) => v / n >= 0.05)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${fixed(v / n)}`)
    .join(', ');
  const events = byLabel(counts, 'apiserver_watch_events_total', 'resource');
  const sizes = byLabel(counts, 'apiserver_watch_events_sizes_sum', 'resource');
  const sent = [...events.entries()]
    .filter(([, v]) => v / n >= 0.05)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${fixed(v / n)} (${fixed((sizes.get(k) ?? 0) / v / 1024, 1)} KB each)`)
    .join(', ');
  const allEvents = [...events.values()].reduce((a, b) => a + b, 0);
  const allBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  return [
    row(`${who}: API server requests per workspace, all clients`, fixed(requests / n), byResource),
    row(
      `${who}: watch events sent per workspace`,
      fixed(allEvents / n),
      `${fixed(allBytes / n / 1024, 1)} KB: ${sent}`,
    ),
  ];
}

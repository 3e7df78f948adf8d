/**
 * A Helm post-renderer for the upgrade test (`helm --post-renderer`): the chart's ValidatingWebhookConfiguration
 * points the API server at the operator's Service, and the local control plane has no pods, kubelet or cluster
 * DNS behind a Service. This points every webhook at the operator process on loopback instead (the port is the
 * one argument) and leaves every other object, and every other field, as the chart rendered it.
 *
 * Reads the rendered manifests on stdin and writes them to stdout, as Helm expects.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';

interface Webhook {
  clientConfig?: Record<string, unknown>;
}

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`local-webhook-renderer: the first argument must be a port, not ${process.argv[2]}\n`);
  process.exit(2);
}

const docs = parseAllDocuments(readFileSync(0, 'utf8'))
  .map((d) => d.toJS() as Record<string, unknown> | null)
  .filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object');

for (const doc of docs) {
  if (doc.kind !== 'ValidatingWebhookConfiguration' || !Array.isArray(doc.webhooks)) continue;
  for (const hook of doc.webhooks as Webhook[]) {
    const { service, ...rest } = hook.clientConfig ?? {};
    const path = (service as { path?: string } | undefined)?.path ?? '/validate';
    hook.clientConfig = { ...rest, url: `https://127.0.0.1:${port}${path}` };
  }
}

process.stdout.write(docs.map((d) => `---\n${stringify(d)}`).join(''));

/**
 * `npm run dev`: the whole platform on this machine. Starts a local control plane (etcd, kube-apiserver,
 * kube-controller-manager) and PostgreSQL, installs the CRDs, registers the webhook, runs the operator, applies
 * examples/agency (accounts first, then their workspaces and invitations), and shows their status until Ctrl-C,
 * which stops everything it started.
 */
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config.js';
import { errorMessage } from '../src/errors.js';
import { Api } from '../src/kube/api.js';
import { KubeClient } from '../src/kube/client.js';
import { Resources, type ResourceType } from '../src/kube/resources.js';
import { createLogger } from '../src/log.js';
import { Operator } from '../src/operator.js';
import { webhookConfiguration } from '../src/webhook/configuration.js';
import { operatorKubeconfig } from './local/identity.js';
import { REPO_ROOT, startLocalControlPlane } from './local/install.js';
import { clientBinDir, startPostgres } from './local/postgres.js';
import { freePort, newRunDir } from './local/processes.js';

const OPERATOR_NAMESPACE = 'workspace-operator';
const say = (line: string) => process.stderr.write(`[dev] ${line}\n`);

interface Row {
  kind: string;
  name: string;
  phase: string;
  ready: string;
  detail: string;
}

/** The documents of a kustomize folder, in the order its kustomization lists them (workspaces before invitations). */
function docsIn(dir: string): { kind: string; metadata: { name: string; namespace?: string } }[] {
  const kustomization = parseAllDocuments(
    readFileSync(join(dir, 'kustomization.yaml'), 'utf8'),
  )[0]?.toJS() as { resources?: string[] } | undefined;
  const files =
    kustomization?.resources ??
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f) && !/^kustomization\.ya?ml$/.test(f))
      .sort();
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string } },
    ),
  );
}

const KINDS: Record<string, ResourceType> = {
  Account: Resources.Account,
  Workspace: Resources.Workspace,
  ClientInvitation: Resources.ClientInvitation,
};

async function rows(api: Api): Promise<Row[]> {
  const out: Row[] = [];
  for (const [kind, r] of Object.entries(KINDS)) {
    for (const raw of (await api.list(r)).items) {
      const o = raw as {
        metadata: { name: string; namespace?: string };
        status?: {
          phase?: string;
          plan?: { name?: string; workspaceLimit?: number };
          workspaceCount?: number;
          namespace?: string;
          expiresAt?: string;
          conditions?: { type: string; status: string; message: string }[];
        };
        spec?: { workspace?: string };
      };
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      const detail =
        kind === 'Account'
          ? `plan ${o.status?.plan?.name ?? '-'}, ${o.status?.workspaceCount ?? 0}/${o.status?.plan?.workspaceLimit ?? '-'} workspaces`
          : kind === 'Workspace'
            ? `namespace ${o.status?.namespace ?? '-'}`
            : `workspace ${o.spec?.workspace ?? '-'}, expires ${o.status?.expiresAt ?? '-'}`;
      out.push({
        kind,
        name: o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name,
        phase:
          o.status?.phase ??
          (kind === 'Account' ? (ready?.status === 'True' ? 'Ready' : 'Provisioning') : '-'),
        ready: ready?.status ?? 'Unknown',
        detail,
      });
    }
  }
  return out;
}

function table(list: Row[]): string {
  const head: Row = { kind: 'KIND', name: 'NAME', phase: 'PHASE', ready: 'READY', detail: 'DETAIL' };
  const all = [head, ...list];
  const width = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  return all
    .map(
      (r) =>
        (['kind', 'name', 'phase', 'ready'] as const).map((k) => r[k].padEnd(width(k))).join('  ') +
        '  ' +
        r.detail,
    )
    .join('\n');
}

async function main(): Promise<void> {
  const runDir = newRunDir('dev');
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        say(`stop failed: ${errorMessage(err)}`);
      }
    }
    say('stopped; nothing left running');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const cp = await startLocalControlPlane(runDir, say);
    stops.push(cp.stop);
    const db = await startPostgres(runDir, say);
    stops.push(db.stop);

    const client = await KubeClient.fromFile(cp.kubeconfigPath);
    const api = new Api(client);
    await api.apply(Resources.Namespace, { metadata: { name: OPERATOR_NAMESPACE } });
    const webhookPort = await freePort();
    const acceptPort = await freePort();
    await api.apply(
      Resources.ValidatingWebhookConfiguration,
      webhookConfiguration({
        name: 'workspace-operator',
        clientConfig: { url: `https://127.0.0.1:${webhookPort}/validate` },
        excludeNamespaces: [OPERATOR_NAMESPACE],
      }),
    );

    // The operator logs to a file; invitation links (no SMTP here) are also shown below the status table.
    const logFile = join(runDir, 'operator.log');
    const file = createWriteStream(logFile, { flags: 'a' });
    const links: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        file.write(chunk);
        const line = chunk.toString('utf8');
        const link = line.includes('invitation link') ? /"link":"([^"]+)"/.exec(line)?.[1] : undefined;
        if (link) links.push(link);
        done();
      },
    });
    const config = loadConfig({
      DATABASE_URL: db.operatorUrl,
      POD_NAMESPACE: OPERATOR_NAMESPACE,
      POD_NAME: 'dev',
      HTTP_BIND_ADDRESS: '127.0.0.1',
      HEALTH_PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
      WEBHOOK_PORT: String(webhookPort),
      WEBHOOK_DNS_NAMES: 'localhost',
      WEBHOOK_IP_ADDRESSES: '127.0.0.1',
      // As in a cluster: the webhook answers only the API server, which presents this CA's client certificate.
      WEBHOOK_CLIENT_CA_FILE: cp.webhookClient.caFile,
      WEBHOOK_CLIENT_NAMES: cp.webhookClient.name,
      ACCEPT_PORT: String(acceptPort),
      ACCEPT_BASE_URL: `https://127.0.0.1:${acceptPort}/accept`,
      // No SMTP server here: the links go to the log, and from there below the status table.
      INVITATION_LINKS_IN_LOG: 'true',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      // This machine's pg_dump and psql, for moves between DatabaseServers; without them moves fail and nothing else.
      ...databaseTools(),
    });
    // The operator runs as its own ServiceAccount, with the chart's RBAC: the admin kubeconfig printed below is a
    // person's, whose deletions the webhook asks to confirm like anyone else's.
    const identity = await operatorKubeconfig(api, cp, runDir, config);
    say(`operator identity: ${identity.username}`);
    const operator = await Operator.start({
      config,
      kube: await KubeClient.fromFile(identity.path),
      log: createLogger(config.logLevel, sink),
      onFatal: (reason) => {
        say(`operator stopped: ${reason}`);
        void shutdown(1);
      },
    });
    stops.push(() => operator.stop());
    // Requests for our kinds fail closed until the webhook answers: wait for it (and its CA in the configuration).
    while (!operator.webhook) await new Promise((r) => setTimeout(r, 100));
    for (;;) {
      const vwc = (await api.get(Resources.ValidatingWebhookConfiguration, {
        name: 'workspace-operator',
      })) as {
        webhooks: { clientConfig: { caBundle?: string } }[];
      };
      if (vwc.webhooks.every((w) => w.clientConfig.caBundle)) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    say('applying examples/agency: accounts first, then their workspaces and invitations');
    const accounts = docsIn(join(REPO_ROOT, 'examples/agency/accounts'));
    for (const doc of accounts)
      await api.apply(KINDS[doc.kind] ?? Resources.Account, doc, { fieldManager: 'dev' });
    for (const doc of accounts) {
      for (;;) {
        const a = (await api.get(Resources.Account, { name: doc.metadata.name })) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        if (a.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    for (const doc of docsIn(join(REPO_ROOT, 'examples/agency/workspaces'))) {
      const r = KINDS[doc.kind];
      if (r) await api.apply(r, doc, { fieldManager: 'dev' });
    }

    process.stdout.write(
      [
        '',
        'The local platform is running. In another terminal:',
        `  export KUBECONFIG=${cp.kubeconfigPath}`,
        `  ${cp.binaries.kubectl} get taskjuice -A`,
        `PostgreSQL (operator role): ${db.operatorUrl.replace(/:[^:@/]+@/, ':***@')}`,
        `Operator log: ${logFile}`,
        'Ctrl-C stops everything.',
        '',
      ].join('\n') + '\n',
    );

    let shown = '';
    for (;;) {
      if (stopping) return;
      let text: string;
      try {
        text = table(await rows(api));
      } catch (err) {
        text = `status unavailable: ${errorMessage(err)}`;
      }
      if (links.length > 0)
        text += `\n\nInvitation links (from the operator log, no SMTP configured):\n${links.map((l) => `  ${l}`).join('\n')}`;
      if (text !== shown) {
        shown = text;
        process.stdout.write(`\n${new Date().toISOString()}\n${text}\n`);
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  } catch (err) {
    say(`failed: ${errorMessage(err)}`);
    await shutdown(1);
  }
}

function databaseTools(): { DATABASE_TOOLS_DIR?: string } {
  try {
    return { DATABASE_TOOLS_DIR: clientBinDir() };
  } catch {
    return {};
  }
}

void main();

import { writeFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createAuthority, createSigningKey, issueCertificate, type KeyPair } from '../../src/tls/pki.js';
import { controlPlaneBinaries, type Binaries } from './binaries.js';
import { freePort, startProcess, waitFor, type Managed } from './processes.js';

/**
 * A minimal, real Kubernetes control plane on loopback, the way controller-runtime's envtest starts one, plus the
 * controller manager: its garbage collector, namespace controller and quota controller are what make owner
 * references, namespace deletion and ResourceQuota status behave as in a cluster.
 */
export interface ControlPlane {
  /** Path of a kubeconfig for a cluster administrator (group system:masters). */
  kubeconfigPath: string;
  server: string;
  ca: string;
  binaries: Binaries;
  /**
   * What the API server presents to admission webhooks, and what a webhook needs to verify it: files holding the
   * CA that signs only this client (WEBHOOK_CLIENT_CA_FILE), the client's certificate and key (for tests that
   * speak to a webhook as the API server would), and the common name (WEBHOOK_CLIENT_NAMES).
   */
  webhookClient: { caFile: string; certFile: string; keyFile: string; name: string };
  /** Issues a client certificate kubeconfig for any user and groups, for tests of what that user may do. */
  kubeconfigFor(user: string, groups?: string[]): Promise<string>;
  /**
   * Stops kube-apiserver (SIGTERM: it drains; SIGKILL: it just dies); etcd and the controller manager keep running,
   * so the store and everything in it survive. `startApiServer` brings it back on the same port.
   */
  stopApiServer(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** The common name of the client certificate the API server presents to webhooks. */
export const WEBHOOK_CLIENT_NAME = 'kube-apiserver-webhook-client';

/**
 * The API server's credentials for calling webhooks, the `kubeConfigFile` of its webhook admission plugins. It
 * picks a `users` entry by the webhook's host and port: exactly (`127.0.0.1:40123`), then `*.`-prefixed
 * suffixes of it, then without the port when that is 443, and last `*`. Test webhooks listen on random loopback
 * ports, so only `*` covers them (a suffix match keeps the port: `*.0.1:40123`).
 */
function webhookClientKubeconfig(client: KeyPair): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    users: [
      {
        name: '*',
        user: {
          'client-certificate-data': b64(client.certificate),
          'client-key-data': b64(client.privateKey),
        },
      },
    ],
  });
}

function admissionConfiguration(kubeconfigFile: string): string {
  const plugin = (name: string) => ({
    name,
    configuration: {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'WebhookAdmissionConfiguration',
      kubeConfigFile: kubeconfigFile,
    },
  });
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: [plugin('ValidatingAdmissionWebhook'), plugin('MutatingAdmissionWebhook')],
  });
}

function kubeconfig(server: string, ca: string, user: string, client: KeyPair): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': b64(client.certificate),
          'client-key-data': b64(client.privateKey),
        },
      },
    ],
    contexts: [{ name: 'local', context: { cluster: 'local', user } }],
    'current-context': 'local',
  });
}

function httpGet(url: string, tls: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { ...tls, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface ControlPlaneOptions {
  log?: (line: string) => void;
  /**
   * Runs with an admin kubeconfig after the API server is up and before the controller manager starts. CRDs
   * installed here are in the quota controller's first discovery, so quotas on them are counted at once rather
   * than after its next 30-second discovery pass.
   */
  beforeControllerManager?: (kubeconfigPath: string) => Promise<void>;
}

/**
 * Starts a server on a port picked just before, and on a new one if another socket took it meanwhile: `listen(0)`
 * hands out ports from the range outgoing connections take their local ports from, so a port found free can be
 * in use a moment later (seen once, with two test runs side by side: the controller manager's port was taken
 * before it started).
 */
async function startOnFreePort(
  processes: Managed[],
  start: (port: number) => Managed,
  ready: (port: number, process: Managed) => Promise<void>,
): Promise<{ port: number; process: Managed }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = start(port);
    processes.push(child);
    try {
      await ready(port, child);
      return { port, process: child };
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('address already in use')) throw err;
      processes.splice(processes.indexOf(child), 1);
      await child.stop();
    }
  }
}

export async function startControlPlane(
  runDir: string,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const binaries = await controlPlaneBinaries();
  const file = (name: string, content: string) => {
    const path = join(runDir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };

  const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];

  const ca = await createAuthority('workspace-operator-local-ca', { days: 30 });
  const serving = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    usage: 'server',
    validFor: { days: 30 },
  });
  const admin = await issueCertificate(ca, {
    commonName: 'local-admin',
    organizations: ['system:masters'],
    usage: 'client',
    validFor: { days: 30 },
  });
  const kcmClient = await issueCertificate(ca, {
    commonName: 'system:kube-controller-manager',
    usage: 'client',
    validFor: { days: 30 },
  });
  const saKey = await createSigningKey();
  const caFile = file('ca.crt', ca.certificate);
  // A CA of its own for the webhook client: the cluster CA also signs every user's certificate, and none of
  // those may pass for the API server at a webhook.
  const webhookClientCa = await createAuthority('workspace-operator-local-webhook-client-ca', { days: 30 });
  const webhookClient = await issueCertificate(webhookClientCa, {
    commonName: WEBHOOK_CLIENT_NAME,
    usage: 'client',
    validFor: { days: 30 },
  });
  const webhookClientFiles = {
    caFile: file('webhook-client-ca.crt', webhookClientCa.certificate),
    certFile: file('webhook-client.crt', webhookClient.certificate),
    keyFile: file('webhook-client.key', webhookClient.privateKey),
    name: WEBHOOK_CLIENT_NAME,
  };
  const admissionConfigFile = file(
    'admission-configuration.yaml',
    admissionConfiguration(file('webhook-client.kubeconfig', webhookClientKubeconfig(webhookClient))),
  );

  const processes: Managed[] = [];
  const stop = async () => {
    for (const p of processes.reverse()) await p.stop();
  };

  try {
    log('starting etcd');
    const etcd = startProcess(runDir, 'etcd', binaries.etcd, [
      `--data-dir=${join(runDir, 'etcd-data')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      // A throw-away store for tests and development: durability is not worth an fsync per write here.
      '--unsafe-no-fsync',
      '--quota-backend-bytes=8589934592',
      '--log-level=warn',
    ]);
    processes.push(etcd);
    await waitFor(
      'etcd',
      async () => (await httpGet(`http://127.0.0.1:${etcdPort}/health`)).body.includes('"health":"true"'),
      { timeoutMs: 30_000, process: etcd },
    );

    log('starting kube-apiserver');
    const adminTls = { ca: ca.certificate, cert: admin.certificate, key: admin.privateKey };
    const startApiserver = (apiPort: number) =>
      startProcess(runDir, 'kube-apiserver', binaries.kubeApiserver, [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${file('apiserver.crt', serving.certificate)}`,
        `--tls-private-key-file=${file('apiserver.key', serving.privateKey)}`,
        `--client-ca-file=${caFile}`,
        '--authorization-mode=RBAC',
        `--admission-control-config-file=${admissionConfigFile}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${file('sa.pub', saKey.publicKey)}`,
        `--service-account-signing-key-file=${file('sa.key', saKey.privateKey)}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--endpoint-reconciler-type=none',
        '--max-requests-inflight=1000',
        '--max-mutating-requests-inflight=500',
        '--profiling=false',
      ]);
    const apiserverReady = (port: number, apiserver: Managed) =>
      waitFor(
        'kube-apiserver',
        async () => (await httpGet(`https://127.0.0.1:${port}/readyz`, adminTls)).status === 200,
        { timeoutMs: 120_000, process: apiserver },
      );
    const first = await startOnFreePort(processes, startApiserver, apiserverReady);
    const apiPort = first.port;
    let apiserver = first.process;
    const server = `https://127.0.0.1:${apiPort}`;

    const kubeconfigPath = file('admin.kubeconfig', kubeconfig(server, ca.certificate, 'local-admin', admin));
    const kcmConfig = file(
      'kcm.kubeconfig',
      kubeconfig(server, ca.certificate, 'system:kube-controller-manager', kcmClient),
    );

    await options.beforeControllerManager?.(kubeconfigPath);

    log('starting kube-controller-manager');
    await startOnFreePort(
      processes,
      (kcmPort) =>
        startProcess(runDir, 'kube-controller-manager', binaries.kubeControllerManager, [
          `--kubeconfig=${kcmConfig}`,
          `--authentication-kubeconfig=${kcmConfig}`,
          `--authorization-kubeconfig=${kcmConfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(runDir, 'kcm-certs')}`,
          [
            '--controllers=namespace-controller',
            'garbage-collector-controller',
            'resourcequota-controller',
            'serviceaccount-controller',
            'serviceaccount-token-controller',
            'clusterrole-aggregation-controller',
            'root-ca-certificate-publisher-controller',
          ].join(','),
          `--service-account-private-key-file=${join(runDir, 'sa.key')}`,
          `--root-ca-file=${caFile}`,
          '--use-service-account-credentials=true',
          '--leader-elect=false',
          // The quota controller's full recount keeps its default (5 minutes). It recounts from its informers, which
          // can lag a create that admission has just counted, and so can let one more through (kubernetes#20113): a
          // short period made that race common in the concurrency tests. Our CRDs are installed before this process
          // starts, so its discovery knows them from the start and needs no early resync.
        ]),
      (port, kcm) =>
        waitFor(
          'kube-controller-manager',
          async () =>
            (await httpGet(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false })).status ===
            200,
          { timeoutMs: 60_000, process: kcm },
        ),
    );
    log(`control plane ready at ${server}`);

    return {
      kubeconfigPath,
      server,
      ca: ca.certificate,
      binaries,
      webhookClient: webhookClientFiles,
      async kubeconfigFor(user: string, groups: string[] = []) {
        const client = await issueCertificate(ca, {
          commonName: user,
          organizations: groups,
          usage: 'client',
          validFor: { days: 1 },
        });
        const safe = user.replace(/[^a-zA-Z0-9_.-]/g, '_');
        return file(
          `${safe}-${Date.now().toString(36)}.kubeconfig`,
          kubeconfig(server, ca.certificate, user, client),
        );
      },
      async stopApiServer(signal = 'SIGTERM') {
        if (apiserver.child.exitCode !== null || apiserver.child.signalCode !== null) return;
        if (signal === 'SIGKILL') apiserver.child.kill('SIGKILL');
        await apiserver.stop(30_000);
      },
      async startApiServer() {
        if (apiserver.child.exitCode === null && apiserver.child.signalCode === null) return;
        const next = startApiserver(apiPort);
        processes.splice(processes.indexOf(apiserver), 1, next);
        apiserver = next;
        await apiserverReady(apiPort, next);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { OperatorError } from '../errors.js';

/**
 * Where the API server is and how to prove who we are to it: TLS options for the agent and headers for each
 * request, asked for again now and then (service-account tokens are projected and rotate).
 *
 * Two sources cover what an operator meets: the in-cluster service account, and a kubeconfig whose user has
 * certificates, a token, a token file or a basic password (what the local control plane, kind and most CI
 * write). Anything else (exec plugins, auth providers, impersonation with `as`, several files in KUBECONFIG to
 * merge) goes to @kubernetes/client-node, loaded only then: it costs about 70 MB and 0.4 s at start, which a
 * replica that never needs it should not pay.
 */
export interface Credentials {
  readonly server: URL;
  /** Fresh TLS options and headers for the requests that follow. */
  refresh(): Promise<{ tls: https.AgentOptions; headers: Record<string, string> }>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Which context of a kubeconfig to use; by default its `current-context` (what kubectl's `--context` picks). */
export interface ContextOptions {
  context?: string | undefined;
}

/** client-node's default order: KUBECONFIG, then ~/.kube/config, then the in-cluster service account. */
export async function defaultCredentials(
  env: NodeJS.ProcessEnv = process.env,
  options: ContextOptions = {},
): Promise<Credentials> {
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  if (files.length > 1) return fromClientNode((kc) => useContext(kc, options, () => kc.loadFromDefault()));
  const file = files[0] ?? join(homedir(), '.kube', 'config');
  if (files.length === 1 || existsSync(file)) return fileCredentials(file, options);
  if (options.context !== undefined)
    throw new OperatorError(
      'Config',
      `no kubeconfig (KUBECONFIG, ~/.kube/config) to take context ${options.context} from`,
    );
  return inClusterCredentials(env);
}

/** The pod's service account: its token is read again at every refresh (the kubelet rotates it). */
export function inClusterCredentials(
  env: NodeJS.ProcessEnv = process.env,
  dir = SERVICE_ACCOUNT,
): Credentials {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host)
    throw new OperatorError(
      'Config',
      'no kubeconfig (KUBECONFIG, ~/.kube/config) and not in a cluster (KUBERNETES_SERVICE_HOST is not set)',
    );
  const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  return {
    server,
    refresh: async () => ({
      tls: { ca: readFileSync(join(dir, 'ca.crt')) },
      headers: { Authorization: `Bearer ${readFileSync(join(dir, 'token'), 'utf8').trim()}` },
    }),
  };
}

const Cluster = z.looseObject({
  server: z.string(),
  'certificate-authority': z.string().optional(),
  'certificate-authority-data': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().optional(),
  'proxy-url': z.string().optional(),
});

const User = z.looseObject({
  'client-certificate': z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key': z.string().optional(),
  'client-key-data': z.string().optional(),
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  exec: z.unknown().optional(),
  'auth-provider': z.unknown().optional(),
  /** Impersonation, as kubectl's --as: left to client-node, which sends it; groups and extras it does not send. */
  as: z.string().optional(),
  'as-groups': z.unknown().optional(),
  'as-user-extra': z.unknown().optional(),
});

const KubeconfigFile = z.looseObject({
  'current-context': z.string().optional(),
  clusters: z.array(z.looseObject({ name: z.string(), cluster: Cluster })).default([]),
  users: z.array(z.looseObject({ name: z.string(), user: User.default({}) })).default([]),
  contexts: z
    .array(
      z.looseObject({
        name: z.string(),
        context: z.looseObject({ cluster: z.string(), user: z.string().optional() }),
      }),
    )
    .default([]),
});

/** A kubeconfig file's current context (or the one named); the user's files are read again at every refresh. */
export async function fileCredentials(path: string, options: ContextOptions = {}): Promise<Credentials> {
  let doc: z.infer<typeof KubeconfigFile>;
  try {
    doc = KubeconfigFile.parse(parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new OperatorError(
      'Config',
      `kubeconfig ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const contextName = options.context ?? doc['current-context'];
  const context = doc.contexts.find((c) => c.name === contextName)?.context;
  if (!context && options.context !== undefined)
    throw new OperatorError(
      'Config',
      `kubeconfig ${path} has no context named ${options.context} (it has ${doc.contexts.map((c) => c.name).join(', ') || 'none'})`,
    );
  const cluster = doc.clusters.find((c) => c.name === context?.cluster)?.cluster;
  if (!context || !cluster)
    throw new OperatorError('Config', `kubeconfig ${path}: the current context names no cluster`);
  const user = doc.users.find((u) => u.name === context.user)?.user ?? {};
  // Requests sent without the impersonation a kubeconfig asks for would carry more rights than its user meant.
  if (user['as-groups'] !== undefined || user['as-user-extra'] !== undefined)
    throw new OperatorError(
      'Config',
      `kubeconfig ${path}: user ${context.user ?? ''} impersonates with as-groups or as-user-extra, which this client does not send`,
    );
  if (
    user.as !== undefined ||
    user.exec !== undefined ||
    user['auth-provider'] !== undefined ||
    cluster['proxy-url'] !== undefined
  )
    return fromClientNode((kc) => useContext(kc, options, () => kc.loadFromFile(path)));

  const base = dirname(path);
  const file = (p: string) => readFileSync(isAbsolute(p) ? p : join(base, p));
  const data = (inline: string | undefined, ref: string | undefined) =>
    inline !== undefined ? Buffer.from(inline, 'base64') : ref !== undefined ? file(ref) : undefined;
  return {
    server: new URL(cluster.server),
    refresh: async () => {
      const tls: https.AgentOptions = {};
      const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
      if (ca) tls.ca = ca;
      const cert = data(user['client-certificate-data'], user['client-certificate']);
      if (cert) tls.cert = cert;
      const key = data(user['client-key-data'], user['client-key']);
      if (key) tls.key = key;
      if (cluster['insecure-skip-tls-verify']) tls.rejectUnauthorized = false;
      if (cluster['tls-server-name']) tls.servername = cluster['tls-server-name'];
      const headers: Record<string, string> = {};
      const token = user.token ?? (user.tokenFile ? file(user.tokenFile).toString('utf8').trim() : undefined);
      if (token) headers.Authorization = `Bearer ${token}`;
      else if (user.username !== undefined)
        headers.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
      return { tls, headers };
    },
  };
}

/** What client-node's KubeConfig gives, for the kubeconfigs the small readers above leave to it. */
type ClientNodeConfig = import('@kubernetes/client-node').KubeConfig;

function useContext(kc: ClientNodeConfig, options: ContextOptions, load: () => void): void {
  load();
  if (options.context === undefined) return;
  if (!kc.getContextObject(options.context))
    throw new OperatorError('Config', `the kubeconfig has no context named ${options.context}`);
  kc.setCurrentContext(options.context);
}

export async function fromClientNode(load: (kc: ClientNodeConfig) => void): Promise<Credentials> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  load(config);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new OperatorError('Config', 'the kubeconfig has no current cluster');
  return {
    server: new URL(cluster.server),
    refresh: async () => {
      const opts: https.RequestOptions & { headers?: Record<string, string> } = { headers: {} };
      await config.applyToHTTPSOptions(opts);
      const tls: Record<string, unknown> = {};
      for (const key of [
        'ca',
        'cert',
        'key',
        'pfx',
        'passphrase',
        'rejectUnauthorized',
        'servername',
      ] as const) {
        const value = (opts as Record<string, unknown>)[key];
        if (value !== undefined) tls[key] = value;
      }
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      // applyToHTTPSOptions made an agent of its own for this one call; the client's is the one requests use.
      (opts.agent as { destroy(): void } | undefined)?.destroy();
      return { tls: tls as https.AgentOptions, headers };
    },
  };
}

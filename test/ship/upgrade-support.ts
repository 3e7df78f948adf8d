/**
 * What the upgrade test needs besides the chart helpers of support.ts: the previous release taken from Git, the
 * operator run as a local process with the environment the release's Deployment gives its pod, and a snapshot of
 * everything an upgrade must keep.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources, type ResourceType } from '../../operator/src/kube/resources.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';

const run = promisify(execFile);

/**
 * The release an upgrade starts from: chart 0.1.0 as it stood before DatabaseServers came in, the last commit
 * with version 0.1.0 whose CRDs differ from the current ones (UPGRADING.md says why this commit).
 */
export const PREVIOUS_RELEASE = {
  version: '0.1.0',
  commit: '4c2dedab78c0cb2ddc556fd7d2d044456bb49a15',
} as const;

/**
 * Writes the previous release's chart, CRDs and operator source into `dir` (git archive of that commit), with
 * this checkout's node_modules linked in: the dependencies of package.json did not change since.
 */
export async function checkoutRelease(commit: string, dir: string): Promise<string> {
  try {
    await run('git', ['-C', REPO_ROOT, 'cat-file', '-e', `${commit}^{commit}`]);
  } catch {
    throw new Error(
      `commit ${commit} (the previous release) is not in this clone's history: a shallow clone needs git fetch --unshallow`,
    );
  }
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, 'release.tar');
  await run('git', [
    '-C',
    REPO_ROOT,
    'archive',
    '--format=tar',
    `--output=${archive}`,
    commit,
    'charts',
    'crds',
    'operator',
    'package.json',
    'tsconfig.json',
  ]);
  await run('tar', ['-xf', archive, '-C', dir]);
  if (!existsSync(join(dir, 'node_modules')))
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** An executable Helm post-renderer that points the chart's webhooks at the operator on 127.0.0.1:port. */
export function localWebhookPostRenderer(dir: string): string {
  const script = join(dir, 'local-webhook-renderer');
  writeFileSync(
    script,
    `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(REPO_ROOT, 'test/ship/local-webhook-renderer.ts')}" "$@"\n`,
  );
  chmodSync(script, 0o755);
  return script;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}

interface DeploymentView {
  spec: { template: { spec: { containers: { name: string; env?: EnvVar[] }[] } } };
}

const Deployments: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
};

/**
 * The environment of the operator container of the release's Deployment as the API server stores it, resolved
 * as the kubelet would: downward API fields from the pod, secretKeyRef from the Secret in the cluster.
 */
export async function deploymentEnvironment(
  api: Api,
  namespace: string,
  name: string,
  podName: string,
): Promise<Record<string, string>> {
  const deployment = (await api.get(Deployments, { namespace, name })) as DeploymentView | undefined;
  if (!deployment) throw new Error(`Deployment ${namespace}/${name} not found`);
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'operator');
  if (!container) throw new Error(`Deployment ${namespace}/${name} has no container named operator`);
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = (await api.get(Resources.Secret, { namespace, name: ref.name })) as
        { data?: Record<string, string> } | undefined;
      const value = secret?.data?.[ref.key];
      if (value === undefined)
        throw new Error(`${e.name}: Secret ${namespace}/${ref.name} has no key ${ref.key}`);
      env[e.name] = Buffer.from(value, 'base64').toString('utf8');
    } else throw new Error(`environment variable ${e.name} has a source the test does not know`);
  }
  return env;
}

/** The image the release's Deployment runs. */
export async function deploymentImage(api: Api, namespace: string, name: string): Promise<string> {
  const deployment = (await api.get(Deployments, { namespace, name })) as
    { spec: { template: { spec: { containers: { name: string; image: string }[] } } } } | undefined;
  return deployment?.spec.template.spec.containers.find((c) => c.name === 'operator')?.image ?? '';
}

export interface LocalOperator {
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

/** `operator/src/main.ts` of the checkout at `root`, as a child process against the cluster of `kubeconfig`. */
export function spawnOperatorFrom(
  root: string,
  kubeconfig: string,
  env: Record<string, string>,
  logFile: string,
): LocalOperator {
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'operator/src/main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', KUBECONFIG: kubeconfig, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

interface ObjectView {
  metadata: { name: string; namespace?: string; uid: string; labels?: Record<string, string> };
}

/** Name (namespace/name when namespaced) to uid of every object of a type. */
export async function uids(api: Api, r: ResourceType, namespace?: string): Promise<Record<string, string>> {
  const { items } = await api.list(r, namespace ? { namespace } : {});
  return Object.fromEntries(
    (items as ObjectView[]).map((o) => [
      o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name,
      o.metadata.uid,
    ]),
  );
}

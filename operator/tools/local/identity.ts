import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import type { Config } from '../../src/config.js';
import type { Api } from '../../src/kube/api.js';
import { Resources } from '../../src/kube/resources.js';
import { operatorRules } from '../../src/rbac.js';
import type { ControlPlane } from './controlplane.js';

const TokenRequest = z.object({ status: z.object({ token: z.string().min(1) }) });

/** Long enough for a day of development; the operator reads the kubeconfig once, at start. */
const TOKEN_SECONDS = 7 * 24 * 3600;

/** The ClusterRoles the operator binds to people, which its own `bind` rule names. */
export function bindableClusterRoles(config: Config): string[] {
  const { rbac } = config;
  return [
    ...new Set([
      rbac.staffClusterRole,
      rbac.clientClusterRole,
      rbac.accountManagerClusterRole,
      rbac.accountMemberClusterRole,
    ]),
  ];
}

/**
 * Gives the operator its own identity on the local platform, as the chart does in a cluster: a ServiceAccount
 * bound to the operator ClusterRole (the rules of operator/src/rbac.ts), and a kubeconfig with a token for it.
 * The administrator's kubeconfig stays a person's: the webhook asks it for every confirmation, as it would ask
 * anyone but the operator.
 */
export async function operatorKubeconfig(
  api: Api,
  cp: Pick<ControlPlane, 'server' | 'ca'>,
  runDir: string,
  config: Config,
  name = 'workspace-operator',
): Promise<{ path: string; username: string }> {
  const namespace = config.namespace;
  await api.apply(Resources.Namespace, { metadata: { name: namespace } });
  await api.apply(Resources.ServiceAccount, { metadata: { name, namespace } });
  await api.apply(Resources.ClusterRole, {
    metadata: { name },
    rules: operatorRules(bindableClusterRoles(config)),
  });
  await api.apply(Resources.ClusterRoleBinding, {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
  const review = TokenRequest.parse(
    await api.client.request({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: TOKEN_SECONDS },
      },
    }),
  );
  const path = join(runDir, `${name}.kubeconfig`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.ca).toString('base64') },
        },
      ],
      users: [{ name, user: { token: review.status.token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: name } }],
      'current-context': 'local',
    }),
    { mode: 0o600 },
  );
  return { path, username: `system:serviceaccount:${namespace}:${name}` };
}

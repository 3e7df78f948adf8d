import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import { Resources } from '../../src/kube/resources.js';
import { EXTERNAL_IPS_POLICY, admissionPolicies } from '../../src/policies.js';
import { projectClusterRoles } from '../../src/rbac.js';
import { startControlPlane, type ControlPlane } from './controlplane.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Every YAML document in the files of a folder, in file-name order. */
export function readManifests(dir: string): unknown[] {
  const docs: unknown[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, name), 'utf8'))) {
      const value: unknown = doc.toJS();
      if (value) docs.push(value);
    }
  }
  return docs;
}

/** Applies the CRDs of crds/ and waits until the API server serves them (condition Established). */
export async function installCrds(api: Api, timeoutMs = 60_000): Promise<string[]> {
  const crds = readManifests(join(REPO_ROOT, 'crds'));
  const names: string[] = [];
  for (const crd of crds) {
    await api.apply(Resources.CustomResourceDefinition, crd);
    names.push((crd as { metadata: { name: string } }).metadata.name);
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const got = (await api.get(Resources.CustomResourceDefinition, { name })) as
        { status?: { conditions?: { type: string; status: string }[] } } | undefined;
      if (got?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} did not become Established in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return names;
}

/** What the operator expects to find in a cluster besides itself: the CRDs and the account and workspace ClusterRoles. */
export async function installPrerequisites(api: Api): Promise<void> {
  await installCrds(api);
  const labels = { 'app.kubernetes.io/part-of': 'workspace-operator' };
  for (const role of projectClusterRoles(labels)) await api.apply(Resources.ClusterRole, role);
  const [policy, binding] = admissionPolicies(EXTERNAL_IPS_POLICY, labels);
  await api.apply(Resources.ValidatingAdmissionPolicy, policy);
  await api.apply(Resources.ValidatingAdmissionPolicyBinding, binding);
}

/**
 * Waits until the quota controller counts Workspaces. It learns of a new CRD from discovery (every 30 s), and
 * until then a quota on count/workspaces.taskjuice.io has no usage and the API server refuses every create with
 * "status unknown for quota". A fresh local cluster pays this once, here, instead of in the first test.
 */
export async function waitForQuotaController(
  api: Api,
  log: (line: string) => void,
  timeoutMs = 120_000,
): Promise<void> {
  const namespace = `quota-probe-${Date.now().toString(36)}`;
  await api.create(Resources.Namespace, { metadata: { name: namespace } });
  try {
    await api.create(Resources.ResourceQuota, {
      metadata: { name: 'probe', namespace },
      spec: { hard: { 'count/workspaces.taskjuice.io': '1' } },
    });
    log('waiting for the quota controller to count workspaces');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const q = (await api.get(Resources.ResourceQuota, { namespace, name: 'probe' })) as
        { status?: { used?: Record<string, string> } } | undefined;
      if (q?.status?.used?.['count/workspaces.taskjuice.io'] !== undefined) return;
      if (Date.now() > deadline) throw new Error('the quota controller did not count workspaces in time');
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await api.delete(Resources.Namespace, { name: namespace });
  }
}

/**
 * The local control plane with the CRDs and the account and workspace ClusterRoles installed before the controller manager
 * starts, so that its quota controller knows our kinds from its first discovery.
 */
export function startLocalControlPlane(runDir: string, log: (line: string) => void): Promise<ControlPlane> {
  return startControlPlane(runDir, {
    log,
    beforeControllerManager: async (path) => {
      const client = await KubeClient.fromFile(path);
      try {
        await installPrerequisites(new Api(client));
      } finally {
        client.close();
      }
    },
  });
}

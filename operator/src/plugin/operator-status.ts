import { stringify } from 'yaml';
import { z } from 'zod';
import type { Api } from '../kube/api.js';
import { Resources, type ResourceType } from '../kube/resources.js';
import { sanitize } from './redact.js';

/** The operator as the support bundle shows it: its Deployments and their pods, by status, never by spec. */

const Deployment: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
};

/** How the chart and deploy/install.yaml label the operator's Deployment. */
export const OPERATOR_SELECTOR = 'app.kubernetes.io/name=workspace-operator';

const ContainerStatus = z.looseObject({
  name: z.string(),
  image: z.string().optional(),
  ready: z.boolean().optional(),
  restartCount: z.number().optional(),
  state: z.unknown().optional(),
  lastState: z.unknown().optional(),
});

const DeploymentShape = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.unknown().optional(),
  }),
  spec: z
    .looseObject({
      replicas: z.number().optional(),
      selector: z.object({ matchLabels: z.record(z.string(), z.string()).optional() }).optional(),
      template: z
        .object({
          spec: z
            .object({
              containers: z.array(z.looseObject({ name: z.string(), image: z.string().optional() })),
            })
            .optional(),
        })
        .optional(),
    })
    .optional(),
  status: z.unknown().optional(),
});

const PodShape = z.looseObject({
  metadata: z.looseObject({ name: z.string(), creationTimestamp: z.string().optional() }),
  spec: z.looseObject({ nodeName: z.string().optional() }).optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      conditions: z.unknown().optional(),
      containerStatuses: z.array(ContainerStatus).optional(),
      startTime: z.string().optional(),
    })
    .optional(),
});

/** The operator's Deployments and pods: their status, images and restarts; never their specs (env may hold secrets). */
export async function operatorStatus(
  api: Api,
  attempt: <T>(what: string, read: () => Promise<T>, fallback: T) => Promise<T>,
): Promise<string> {
  const deployments = await attempt(
    `list Deployments labelled ${OPERATOR_SELECTOR}`,
    async () =>
      (await api.list(Deployment, { labelSelector: OPERATOR_SELECTOR })).items.map((d) =>
        DeploymentShape.parse(d),
      ),
    [],
  );
  if (deployments.length === 0)
    return `# No Deployment labelled ${OPERATOR_SELECTOR} was found (or it could not be listed: see problems.txt).\n# An operator run outside the cluster (npm run dev) has none.\n`;
  const docs = [];
  for (const d of deployments) {
    const namespace = d.metadata.namespace ?? 'default';
    const matchLabels = d.spec?.selector?.matchLabels ?? {};
    const selector = Object.entries(matchLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = await attempt(
      `list pods of Deployment ${namespace}/${d.metadata.name}`,
      async () =>
        (await api.list(Resources.Pod, { namespace, labelSelector: selector })).items.map((p) =>
          PodShape.parse(p),
        ),
      [],
    );
    docs.push({
      deployment: {
        name: d.metadata.name,
        namespace,
        labels: d.metadata.labels,
        replicas: d.spec?.replicas,
        images: d.spec?.template?.spec?.containers.map((c) => `${c.name}=${c.image ?? ''}`),
        status: d.status,
      },
      pods: pods.map((p) => ({
        name: p.metadata.name,
        node: p.spec?.nodeName,
        created: p.metadata.creationTimestamp,
        phase: p.status?.phase,
        conditions: p.status?.conditions,
        containers: p.status?.containerStatuses,
      })),
    });
  }
  return docs.map((doc) => stringify(sanitize(doc))).join('---\n');
}

import { z } from 'zod';
import type { KindDefinition } from '../src/api/crd.js';
import { CATEGORY, GROUP, VERSION } from '../src/api/v1alpha1/group.js';

type Schema = Record<string, unknown>;

const JS_SAFE_INTEGER = 9007199254740991;

/**
 * Turns zod's OpenAPI 3.0 output into a structural schema the API server accepts: no `$schema`, no closed
 * objects (the API server prunes unknown fields instead), no JavaScript's safe-integer bounds, and a
 * description on every property (a missing one fails generation, so `kubectl explain` never shows a blank).
 */
function structural(node: Schema, path: string): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || (key === 'additionalProperties' && value === false)) continue;
    if ((key === 'maximum' && value === JS_SAFE_INTEGER) || (key === 'minimum' && value === -JS_SAFE_INTEGER))
      continue;
    if (key === 'properties' && value && typeof value === 'object') {
      const props: Schema = {};
      for (const [name, child] of Object.entries(value as Record<string, Schema>)) {
        if (typeof child.description !== 'string' || child.description === '') {
          throw new Error(`${path}.${name} has no description; add .describe() to its schema`);
        }
        props[name] = structural(child, `${path}.${name}`);
      }
      out[key] = props;
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      out[key] = structural(value as Schema, `${path}[]`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

export function openApiSchema(schema: z.ZodType, path: string): Schema {
  return structural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as Schema, path);
}

/** The CustomResourceDefinition of one kind, generated from its zod schemas. */
export function customResourceDefinition(def: KindDefinition): Schema {
  const root: Schema = {
    type: 'object',
    description: def.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string', description: `APIVersion of the object: ${GROUP}/${VERSION}.` },
      kind: { type: 'string', description: `Kind of the object: ${def.kind}.` },
      // `name` is declared so that a rule on the whole object can name it as its fieldPath.
      metadata: { type: 'object', properties: { name: { type: 'string' } } },
      spec: openApiSchema(def.spec, `${def.kind}.spec`),
      status: openApiSchema(def.status, `${def.kind}.status`),
    },
  };
  if (def.rootValidations.length > 0) root['x-kubernetes-validations'] = def.rootValidations;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: {
        'app.kubernetes.io/name': 'workspace-operator',
        'app.kubernetes.io/part-of': 'workspace-operator',
      },
    },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      scope: def.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema: root },
        },
      ],
    },
  };
}

export function crdFileName(def: KindDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}

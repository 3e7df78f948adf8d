import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Api } from '../../src/kube/api.js';
import { Resources } from '../../src/kube/resources.js';

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

import { App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Builds a chart in a fresh app and synthesizes it as `kubectl` would read it (validations run, as in synth). */
export function synth(build: (chart: Chart) => void): Manifest[] {
  const app = new App();
  build(new Chart(app, 'test'));
  return parseAllDocuments(app.synthYaml()).map((d) => d.toJS() as Manifest);
}

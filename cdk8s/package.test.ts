import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packagesImported } from '../operator/tools/imports.js';
import { REPO_ROOT } from './import.js';

interface Manifest {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

const read = (path: string): Manifest => JSON.parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as Manifest;
const pkg = read('cdk8s/package.json');
const root = read('package.json');

// What `npm pack` of cdk8s/ makes, and that a consumer can use it, is test/ship/cdk8s-package.test.ts.
describe('cdk8s/package.json (@taskjuice/workspace-operator-cdk8s)', () => {
  it('has the version of the chart, so a GitOps repository pins both with one number', () => {
    const chart = parse(readFileSync(join(REPO_ROOT, 'charts/workspace-operator/Chart.yaml'), 'utf8')) as {
      version: string;
    };
    expect(pkg.version).toBe(chart.version);
  });

  it('declares every package the constructs import, cdk8s and constructs as peers the app brings', () => {
    const imported = [...packagesImported([join(REPO_ROOT, 'cdk8s/lib/index.ts')])].sort();
    expect(imported).toEqual([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)].sort());
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['cdk8s', 'cdk8s-plus-27', 'constructs']);
  });

  it('asks for the versions this repository builds and tests the constructs with', () => {
    for (const [name, range] of Object.entries(pkg.dependencies))
      expect(range, name).toBe(root.dependencies[name]);
    for (const [name, range] of Object.entries(pkg.peerDependencies))
      expect(range, name).toBe(root.devDependencies[name]);
  });
});

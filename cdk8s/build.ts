/**
 * `npm run build` in cdk8s/ (and so `npm pack`, through prepack): the package @taskjuice/workspace-operator-cdk8s
 * in cdk8s/build/. tsc compiles lib/index.ts and everything it imports, which includes the operator's own modules
 * (the zod schemas, RBAC rules, admission policies and webhook configuration the constructs share with the
 * operator), to JavaScript and declarations; the CRDs that OperatorInstall reads at synth time are copied beside
 * them, at the same relative path as in this repository. The package needs nothing from this repository after.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = fileURLToPath(new URL('.', import.meta.url));
export const BUILD_DIR = join(PACKAGE_DIR, 'build');
const CRD_DIR = join(PACKAGE_DIR, '..', 'crds');

export function buildPackage(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(PACKAGE_DIR, 'tsconfig.build.json')], { stdio: 'inherit' });
  // build/cdk8s/lib/operator-install.js finds build/crds/ as cdk8s/lib/operator-install.ts finds crds/.
  mkdirSync(join(BUILD_DIR, 'crds'));
  for (const name of readdirSync(CRD_DIR).filter((n) => n.endsWith('.yaml')))
    cpSync(join(CRD_DIR, name), join(BUILD_DIR, 'crds', name));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildPackage();
  process.stderr.write(`wrote ${BUILD_DIR}\n`);
}

/**
 * `npm run cdk8s:import`: regenerates cdk8s/imports/ from our CRDs (crds/) with `cdk8s import`, so the typed
 * Account, Workspace and ClientInvitation classes always match what the API server enforces. The files are checked
 * in and never edited by hand; imports.test.ts fails when they are stale.
 *
 * One scripted change follows the import: `cdk8s import` imports the interfaces ApiObjectMetadata and
 * GroupVersionKind as values, which this repository's `verbatimModuleSyntax` rejects (and which would then be
 * kept as runtime imports that cdk8s does not export). The script marks them `type`, nothing else.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
export const IMPORTS_DIR = join(REPO_ROOT, 'cdk8s', 'imports');

const TYPE_ONLY = ['ApiObjectMetadata', 'GroupVersionKind'];

function markTypeImports(source: string, file: string): string {
  const line = /^import \{ ([^}]+) \} from 'cdk8s';$/m;
  const match = line.exec(source);
  if (!match?.[1]) throw new Error(`${file}: no import from 'cdk8s' where cdk8s import always puts one`);
  const names = match[1].split(',').map((n) => n.trim());
  const marked = names.map((n) => (TYPE_ONLY.includes(n) ? `type ${n}` : n));
  return source.replace(line, `import { ${marked.join(', ')} } from 'cdk8s';`);
}

/** Runs `cdk8s import` on every CRD of crds/ and writes the TypeScript into `outDir`. */
export function importCrds(outDir: string): void {
  const crdDir = join(REPO_ROOT, 'crds');
  const work = mkdtempSync(join(tmpdir(), 'cdk8s-import-'));
  try {
    // One multi-document file: `cdk8s import` writes one module per API group, so all kinds land in it together.
    const bundle = join(work, 'taskjuice.yaml');
    const docs = readdirSync(crdDir)
      .filter((n) => n.endsWith('.yaml'))
      .sort()
      .map((n) => readFileSync(join(crdDir, n), 'utf8'));
    writeFileSync(bundle, docs.map((d) => `---\n${d}`).join(''));
    execFileSync(
      join(REPO_ROOT, 'node_modules', '.bin', 'cdk8s'),
      ['import', bundle, '--language', 'typescript', '--output', outDir],
      {
        cwd: work,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
      },
    );
    for (const name of readdirSync(outDir).filter((n) => n.endsWith('.ts'))) {
      const path = join(outDir, name);
      writeFileSync(path, markTypeImports(readFileSync(path, 'utf8'), name));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  importCrds(IMPORTS_DIR);
  process.stdout.write(`wrote ${IMPORTS_DIR}\n`);
}

import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthAgency, synthInstall } from '../../cdk8s/synth.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { parseManifests, type Manifest } from './support.js';

// The package as a GitOps repository gets it: `npm pack` of cdk8s/ (prepack builds it), installed from the tarball
// into an empty folder with its peers, and examples/cdk8s/app.ts compiled and run there. Nothing in that folder
// can reach this repository: Node resolves bare names from the consumer's own node_modules.
const PACKAGE_DIR = join(REPO_ROOT, 'cdk8s');
const NAME = '@taskjuice/workspace-operator-cdk8s';
const PEERS = ['cdk8s', 'cdk8s-plus-27', 'constructs'];
const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The versions this repository has installed, so the consumer's install comes from the local npm cache. */
const installedVersion = (name: string): string =>
  (
    JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${name}/package.json`), 'utf8')) as {
      version: string;
    }
  ).version;

const npm = (cwd: string, args: string[]): string =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });

/** A consumer app: package.json, tsconfig.json and examples/cdk8s/app.ts, compiled with tsc and run with node. */
function consumer(dir: string, format: 'module' | 'commonjs', tarball: string): void {
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `consumer-${format}`, private: true, type: format }),
  );
  npm(dir, [
    'install',
    '--prefer-offline',
    '--no-package-lock',
    // Neither the package nor its peers need an install script; a test runs none it did not write.
    '--ignore-scripts',
    tarball,
    ...PEERS.map((p) => `${p}@${installedVersion(p)}`),
  ]);
  // The two shapes cdk8s apps come in: ES modules, and CommonJS as `cdk8s init typescript-app` writes them (which
  // reads the package through its top-level "types" and require()s the ES module, as Node 20.19+ allows).
  const compilerOptions =
    format === 'module'
      ? { module: 'NodeNext', moduleResolution: 'NodeNext' }
      : { module: 'CommonJS', moduleResolution: 'Node10' };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { ...compilerOptions, target: 'ES2022', strict: true, types: [], skipLibCheck: true },
      files: ['app.ts'],
    }),
  );
  copyFileSync(join(REPO_ROOT, 'examples', 'cdk8s', 'app.ts'), join(dir, 'app.ts'));
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, stdio: 'inherit' });
  execFileSync(process.execPath, ['app.js'], { cwd: dir, stdio: 'inherit' });
}

const synthesized = (dir: string, chart: string): Manifest[] =>
  parseManifests(readFileSync(join(dir, 'dist', `${chart}.k8s.yaml`), 'utf8'));

const names = (docs: Manifest[]): string[] => docs.map((d) => `${d.kind} ${d.metadata.name}`);

let work: string;
let files: string[];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cdk8s-package-'));
  const [packed] = JSON.parse(npm(PACKAGE_DIR, ['pack', '--json', '--pack-destination', work])) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!packed) throw new Error('npm pack reported no package');
  files = packed.files.map((f) => f.path).sort();
  const tarball = join(work, packed.filename);
  consumer(join(work, 'esm'), 'module', tarball);
  consumer(join(work, 'cjs'), 'commonjs', tarball);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe(`the cdk8s constructs as the npm package ${NAME}`, () => {
  it('holds compiled JavaScript with declarations, and the CRDs OperatorInstall reads, and no sources', () => {
    expect(files).toContain('package.json');
    expect(files).toContain('README.md');
    expect(files).toContain('build/cdk8s/lib/index.js');
    expect(files).toContain('build/cdk8s/lib/index.d.ts');
    const crds = readdirSync(join(REPO_ROOT, 'crds')).filter((n) => n.endsWith('.yaml'));
    expect(crds.length).toBeGreaterThan(0);
    for (const crd of crds) expect(files).toContain(`build/crds/${crd}`);
    const rest = files.filter(
      (f) => !['package.json', 'README.md'].includes(f) && !f.startsWith('build/crds/'),
    );
    for (const f of rest) expect(f, f).toMatch(/^build\/.+(\.js|\.d\.ts)$/);
    expect(files.filter((f) => f.includes('.test.'))).toEqual([]);
  });

  for (const format of ['esm', 'cjs'] as const) {
    describe(`imported by name from an app in ${format === 'esm' ? 'ES modules' : 'CommonJS'}`, () => {
      it('synthesizes the agency the repository synthesizes (examples/cdk8s/agency.yaml)', () => {
        const docs = synthesized(join(work, format), 'agency');
        expect(names(docs)).toEqual([
          'Account tailspin',
          'Workspace wingtip',
          'ClientInvitation wingtip-maria',
          'Workspace adventure-works',
        ]);
        expect(docs).toEqual(parseManifests(synthAgency()));
        expect(docs).toEqual(
          parseManifests(readFileSync(join(REPO_ROOT, 'examples/cdk8s/agency.yaml'), 'utf8')),
        );
      });

      it('synthesizes the operator install the repository synthesizes, with every CRD from the package', () => {
        const docs = synthesized(join(work, format), 'install');
        const crds = docs.filter((d) => d.kind === 'CustomResourceDefinition').map((d) => d.metadata.name);
        expect(crds.sort()).toEqual([
          'accounts.taskjuice.io',
          'clientinvitations.taskjuice.io',
          'connections.taskjuice.io',
          'databaseservers.taskjuice.io',
          'workspaces.taskjuice.io',
        ]);
        expect(names(docs)).toContain('Deployment workspace-operator');
        expect(docs).toEqual(parseManifests(synthInstall({ replicas: 2 })));
      });
    });
  }
});

/**
 * Which npm packages a set of modules needs: the bare specifiers of every import, export-from, side-effect import
 * and dynamic import() of the given TypeScript files and of everything they reach through relative imports. Tests
 * hold package.json's "dependencies" (and the cdk8s package's) to it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'([^']+)'/g;

/** `@scope/name/sub` to `@scope/name`, `name/sub` to `name`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** The packages (never `node:` built-ins) the modules `entries` import, directly or through relative imports. */
export function packagesImported(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const pending = entries.map((e) => resolve(e));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, specifier = ''] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        if (!existsSync(target)) throw new Error(`${file} imports ${specifier}, which is not there`);
        pending.push(target);
      } else if (!specifier.startsWith('node:')) packages.add(packageOf(specifier));
    }
  }
  return packages;
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './local/install.js';
import { packagesImported } from './imports.js';

/** Every module the image ships (the Dockerfile compiles operator/src; bin/ runs dist/plugin of the same build). */
function shippedModules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return shippedModules(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('package.json dependencies', () => {
  // The image installs "dependencies" alone (npm ci --omit=dev): one that operator/src imports but that is only a
  // devDependency fails at run time in the image, and one that nothing imports is weight and attack surface.
  it('are exactly the packages operator/src imports, so the image holds nothing else', () => {
    const imported = [...packagesImported(shippedModules(join(REPO_ROOT, 'operator', 'src')))].sort();
    expect(imported).toEqual(Object.keys(manifest.dependencies).sort());
  });

  it('never name a package twice, as both a dependency and a devDependency', () => {
    const both = Object.keys(manifest.dependencies).filter((n) => n in manifest.devDependencies);
    expect(both).toEqual([]);
  });
});

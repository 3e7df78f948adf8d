import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layer rule of the README's architecture section: a module imports its own layer or the ones below, never
 * upward; and the components (one folder per kind under controllers/, the webhook, the accept endpoint) never
 * import each other: what two of them share goes down into domain/.
 */
const LAYERS: { name: string; holds: (path: string) => boolean }[] = [
  // The kubectl plugin is a client of the API, an entry of its own: nothing imports it.
  { name: 'plugin', holds: (p) => p.startsWith('plugin/') },
  { name: 'manager', holds: (p) => ['operator.ts', 'main.ts'].includes(p) || p.startsWith('manager/') },
  { name: 'components', holds: (p) => /^(controllers|webhook|invitations)\//.test(p) },
  { name: 'domain', holds: (p) => p.startsWith('domain/') || p === 'caches.ts' },
  { name: 'runtime', holds: (p) => /^(kube|db|tls)\//.test(p) || p === 'http.ts' },
  {
    name: 'base',
    holds: (p) =>
      p.startsWith('api/') ||
      [
        'config.ts',
        'errors.ts',
        'log.ts',
        'metrics.ts',
        'metrics-catalog.ts',
        'policies.ts',
        'rbac.ts',
        'tracing.ts',
      ].includes(p),
  },
];

/** The component a module belongs to: `controllers/<kind>`, `webhook`, `invitations`; shared controller files none. */
function componentOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] === 'controllers') return parts.length > 2 ? `controllers/${parts[1]}` : undefined;
  if (parts[0] === 'webhook' || parts[0] === 'invitations') return parts[0];
  return undefined;
}

const layerOf = (path: string): number => LAYERS.findIndex((l) => l.holds(path));

const root = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [relative(root, full)] : [];
  });
}

/** Every relative import of a module, as a path from operator/src. */
function importsOf(path: string): string[] {
  const text = readFileSync(join(root, path), 'utf8');
  const specs = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)].map((m) => m[1] ?? '');
  return specs.map((s) => normalize(join(dirname(path), s)).replace(/\.js$/, '.ts'));
}

export function violations(): string[] {
  const found: string[] = [];
  for (const from of sources(root)) {
    const mine = layerOf(from);
    if (mine < 0) {
      found.push(`${from} is in no layer`);
      continue;
    }
    for (const to of importsOf(from)) {
      const theirs = layerOf(to);
      if (theirs < mine)
        found.push(`${from} (${LAYERS[mine]?.name}) imports ${to} (${LAYERS[theirs]?.name}): upward`);
      const a = componentOf(from);
      const b = componentOf(to);
      const components = LAYERS.findIndex((l) => l.name === 'components');
      if (mine === components && theirs === components && b !== undefined && a !== b)
        found.push(`${from} imports ${to}: components share through domain/, not with each other`);
    }
  }
  return found;
}

describe('the layer rule', () => {
  it('finds no import that runs upward or across components', () => {
    expect(violations()).toEqual([]);
  });

  it('would notice an upward import', () => {
    expect(layerOf('domain/claims.ts')).toBeGreaterThan(layerOf('webhook/index.ts'));
    expect(componentOf('controllers/workspace/reconcile.ts')).not.toBe(
      componentOf('controllers/account/desired.ts'),
    );
  });
});

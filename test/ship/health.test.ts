import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '@bufbuild/cel';
import { LuaFactory, type LuaEngine } from 'wasmoon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { parseManifests } from './support.js';
import { FIXTURES, type Fixture } from './status-fixtures.js';

const KINDS = ['Account', 'Workspace', 'ClientInvitation'];

/** The health checks as users install them: the argocd-cm patch, one key per kind. */
function installedLua(): Record<string, string> {
  const [patch] = parseManifests(readFileSync(join(REPO_ROOT, 'deploy', 'argocd-health.yaml'), 'utf8'));
  return (patch as unknown as { data: Record<string, string> }).data;
}

/** A JSON value as a Lua table constructor: objects become tables with string keys, arrays 1-based lists. */
function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{ ${value.map(toLua).join(', ')} }`;
  return `{ ${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${JSON.stringify(k)}] = ${toLua(v)}`)
    .join(', ')} }`;
}

describe('the Argo CD health check', () => {
  let lua: LuaEngine;
  const scripts = installedLua();

  beforeAll(async () => {
    lua = await new LuaFactory().createEngine();
  });
  afterAll(() => lua.global.close());

  /** Runs the check as Argo CD does: the object is the global `obj`, the script's result a table. */
  async function health(fixture: Fixture): Promise<{ status: string; message: string }> {
    const kind = String(fixture.object.kind);
    const script = scripts[`resource.customizations.health.taskjuice.io_${kind}`];
    expect(script, `a health check registered for ${kind}`).toBeDefined();
    const out: unknown = await lua.doString(
      `obj = ${toLua(fixture.object)}\n` +
        `local hs = (function()\n${script}\nend)()\n` +
        `return tostring(hs.status) .. "\\n" .. tostring(hs.message)`,
    );
    const [status = '', ...message] = String(out).split('\n');
    return { status, message: message.join('\n') };
  }

  it('is registered for every kind, the same script as charts/workspace-operator/files/argocd-health.lua', () => {
    const source = readFileSync(join(REPO_ROOT, 'charts/workspace-operator/files/argocd-health.lua'), 'utf8');
    expect(Object.keys(scripts).sort()).toEqual(
      KINDS.map((k) => `resource.customizations.health.taskjuice.io_${k}`).sort(),
    );
    for (const script of Object.values(scripts)) expect(script).toBe(source);
  });

  it.each(FIXTURES.map((f) => [f.name, f.argocd, f] as const))(
    'reports %s as %s',
    async (_, expected, fixture) => {
      const hs = await health(fixture);
      expect(hs.status).toBe(expected);
      expect(hs.message).not.toBe('');
      if (fixture.message) expect(hs.message).toMatch(fixture.message);
    },
  );

  it('uses nothing newer than Lua 5.1, the dialect Argo CD runs (gopher-lua)', () => {
    const code = Object.values(scripts)[0]
      ?.split('\n')
      .map((line) => line.replace(/--.*$/, ''))
      .join('\n');
    expect(code).toBeDefined();
    // goto and labels (5.2), integer division and bitwise operators (5.3), attributes like <const> (5.4).
    for (const newer of [/\bgoto\b/, /::\w+::/, /\/\//, /[^~=<>]=?[&|]/, /<<|>>/, /<(const|close)>/]) {
      expect(code).not.toMatch(newer);
    }
  });
});

interface HealthCheckExprs {
  apiVersion: string;
  kind: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

/** Flux's order (RFC 0009): a generation not yet observed is in progress; then inProgress, failed, current. */
function fluxStatus(exprs: HealthCheckExprs, object: Record<string, unknown>): string {
  const status = object.status as { observedGeneration?: number } | undefined;
  const metadata = object.metadata as { generation?: number };
  if (status?.observedGeneration !== undefined && status.observedGeneration !== metadata.generation) {
    return 'InProgress';
  }
  // The object's top-level fields are the expression's variables; one it lacks is not bound at all, and cel-go
  // fails an expression that selects from it ("no such attribute"): kstatus then reports Unknown.
  const variables = Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
  const unbound = (expr: string) =>
    ['apiVersion', 'kind', 'metadata', 'spec', 'status'].some(
      (name) => !(name in variables) && new RegExp(`\\b${name}\\.`).test(expr),
    );
  try {
    for (const [expr, result] of [
      [exprs.inProgress, 'InProgress'],
      [exprs.failed, 'Failed'],
      [exprs.current, 'Current'],
    ] as const) {
      if (expr === undefined) continue;
      if (unbound(expr)) throw new Error(`${expr}: no such attribute`);
      const value = run(expr, variables as never);
      if (typeof value !== 'boolean') throw new Error(`${expr} is not a boolean`);
      if (value) return result;
    }
  } catch {
    return 'Unknown';
  }
  return 'InProgress';
}

describe('the Flux health check expressions', () => {
  const kustomizations = parseManifests(
    readFileSync(join(REPO_ROOT, 'examples/gitops/flux/kustomizations.yaml'), 'utf8'),
  ) as unknown as {
    metadata: { name: string };
    spec: { healthCheckExprs: HealthCheckExprs[]; dependsOn?: unknown };
  }[];
  const exprs = kustomizations[0]?.spec.healthCheckExprs ?? [];

  it('are the same in README.md, docs/install.md and both Kustomizations of examples/gitops/flux', () => {
    expect(exprs.map((e) => e.kind).sort()).toEqual([...KINDS].sort());
    expect(kustomizations.map((k) => k.metadata.name)).toEqual(['agency-accounts', 'agency-workspaces']);
    expect(kustomizations[1]?.spec.healthCheckExprs).toEqual(exprs);
    expect(kustomizations[1]?.spec.dependsOn).toEqual([{ name: 'agency-accounts' }]);
    const docs = ['README.md', 'docs/install.md']
      .map((f) => readFileSync(join(REPO_ROOT, f), 'utf8'))
      .join('\n');
    const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => parse(m[1] ?? '') as { spec?: { healthCheckExprs?: unknown } } | null)
      .filter((doc) => doc?.spec?.healthCheckExprs !== undefined);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) expect(block?.spec?.healthCheckExprs).toEqual(exprs);
  });

  it.each(FIXTURES.map((f) => [f.name, f.flux, f] as const))('report %s as %s', (_, expected, fixture) => {
    const check = exprs.find((e) => e.kind === fixture.object.kind);
    expect(check, `expressions for ${String(fixture.object.kind)}`).toBeDefined();
    if (!check) return;
    expect(fluxStatus(check, fixture.object)).toBe(expected);
  });
});

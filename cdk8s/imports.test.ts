import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importCrds, IMPORTS_DIR } from './import.js';

describe('cdk8s/imports', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'cdk8s-imports-'));
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  it('is what `cdk8s import` makes of crds/ today (run `npm run cdk8s:import`)', () => {
    importCrds(fresh);
    const names = readdirSync(fresh).sort();
    expect(readdirSync(IMPORTS_DIR).sort()).toEqual(names);
    expect(names).toContain('taskjuice.io.ts');
    for (const name of names) {
      expect(readFileSync(join(IMPORTS_DIR, name), 'utf8'), name).toBe(
        readFileSync(join(fresh, name), 'utf8'),
      );
    }
  }, 60_000);
});

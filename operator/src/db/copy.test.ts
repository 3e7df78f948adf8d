import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withoutCreateSchema } from './copy.js';

async function through(chunks: Buffer[], schema: string): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(withoutCreateSchema(schema)))
    out.push(Buffer.from(c as string));
  return Buffer.concat(out).toString('utf8');
}

describe('the dump filter of a move', () => {
  it("drops the schema's CREATE SCHEMA once and passes every other byte, characters split across chunks included", async () => {
    const dump = [
      'SET statement_timeout = 0;',
      'CREATE SCHEMA ws_acme_web;',
      'CREATE TABLE ws_acme_web.notes (body text);',
      'COPY ws_acme_web.notes (body) FROM stdin;',
      'Grüße aus Köln — ✓',
      'CREATE SCHEMA ws_acme_web;',
      '\\.',
      '',
    ].join('\n');
    const bytes = Buffer.from(dump, 'utf8');
    // Cut in the middle of "ü" and of "✓", and of the CREATE SCHEMA line.
    const cuts = [3, 40, bytes.indexOf('ü') + 1, bytes.indexOf('✓') + 2, bytes.length];
    const chunks = cuts.map((end, i) => bytes.subarray(i === 0 ? 0 : (cuts[i - 1] ?? 0), end));
    const expected = dump.replace('CREATE SCHEMA ws_acme_web;\n', '');
    expect(await through(chunks, 'ws_acme_web')).toBe(expected);
  });
});

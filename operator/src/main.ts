/**
 * The operator's entry point: configuration, logger and clients; the controllers, health and metrics start; a
 * SIGTERM stops taking work, lets reconciles in flight finish and releases the leader Lease.
 */
import { loadConfig } from './config.js';
import { errorMessage } from './errors.js';
import { KubeClient } from './kube/client.js';
import { createLogger } from './log.js';
import { Operator } from './operator.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    createLogger('info').fatal(errorMessage(err));
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  // A promise nobody awaited that then failed is a fault of one piece of work (a dependency that went away, most
  // often PostgreSQL or the API server), not of the process: it is logged and the controllers' retries carry on.
  // An uncaught exception is different: Node's state is unknown after one, so it is logged and the process exits
  // (Kubernetes restarts it). Database clients all have error listeners, so no PostgreSQL fault reaches it.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: errorMessage(reason) }, 'unhandled rejection; carrying on');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err: errorMessage(err) }, 'uncaught exception; exiting');
    process.exit(1);
  });
  const kube = await KubeClient.fromDefault();
  const operator = await Operator.start({
    config,
    kube,
    log,
    onFatal: (reason) => {
      log.fatal({ reason }, 'exiting');
      process.exit(1);
    },
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    operator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: errorMessage(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();

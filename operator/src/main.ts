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

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log call's object: a password or token passed by mistake is
 * printed as "[redacted]". Messages themselves are built from names, never values.
 */
export const REDACT_PATHS = [
  'password',
  'token',
  'uri',
  'pgpass',
  'jdbc-uri',
  '*.password',
  '*.token',
  '*.uri',
  '*.pgpass',
  '*.authorization',
  '*.Authorization',
  'data',
  '*.data',
  'stringData',
  '*.stringData',
];

export function createLogger(
  level: string,
  destination?: NodeJS.WritableStream | pino.DestinationStream,
  base: Record<string, unknown> = {},
): Logger {
  return pino(
    {
      level,
      base: { ...base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream | undefined,
  );
}

/** A logger that discards everything, for unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

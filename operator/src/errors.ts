/**
 * The one error class of the operator. Its code is a closed set, so callers branch on what went wrong, never on
 * message text. Messages never carry a password or token: build them from names, not values.
 */
export const ErrorCodes = [
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Invalid',
  'Forbidden',
  'Unauthorized',
  'Gone',
  'TooManyRequests',
  'Unavailable',
  'Timeout',
  'BadRequest',
  'Config',
  'Database',
  'Terminal',
  'Internal',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export class OperatorError extends Error {
  override readonly name = 'OperatorError';
  readonly code: ErrorCode;
  /** The HTTP status the Kubernetes API answered, when the error came from it. */
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

export const isCode = (err: unknown, ...codes: ErrorCode[]): err is OperatorError =>
  err instanceof OperatorError && codes.includes(err.code);

/** A failure a person must fix (bad spec, a limit): reported in a condition and not retried with backoff. */
export function terminal(message: string, cause?: unknown): OperatorError {
  return new OperatorError('Terminal', message, { cause });
}

/** The message of anything thrown, for a log field or a condition. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL's default `scram_iterations`. */
export const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677), computed here so that the
 * password itself never travels to the server, and so never reaches its statement log. PBKDF2 runs on libuv's
 * thread pool, off the event loop. The password must be ASCII (SASLprep leaves it unchanged): ours are random
 * base64url.
 */
export async function scramVerifier(
  password: string,
  iterations = SCRAM_ITERATIONS,
  salt = randomBytes(16),
): Promise<string> {
  if (!/^[\x21-\x7e]+$/.test(password))
    throw new Error('scramVerifier: the password must be printable ASCII');
  const salted = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** A random password of 32 bytes, base64url (43 characters, no quoting needed anywhere). */
export function newPassword(): string {
  return randomBytes(32).toString('base64url');
}

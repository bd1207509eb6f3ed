import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HashingAlgorithm } from '../broker/definitions';

/** RabbitMQ's default scheme, used for every password Warren hashes itself. */
export const DEFAULT_HASHING: HashingAlgorithm = 'rabbit_password_hashing_sha256';

/** Each scheme's digest and its length in bytes (the stored hash is a 4-byte salt, then the digest). */
const DIGESTS: Record<HashingAlgorithm, { digest: string; bytes: number }> = {
  rabbit_password_hashing_sha256: { digest: 'sha256', bytes: 32 },
  rabbit_password_hashing_sha512: { digest: 'sha512', bytes: 64 },
  rabbit_password_hashing_md5: { digest: 'md5', bytes: 16 },
};

export function isHashingAlgorithm(name: unknown): name is HashingAlgorithm {
  return typeof name === 'string' && Object.hasOwn(DIGESTS, name);
}

/** Bytes of a stored hash of `algorithm`: salt and digest. */
export function hashBytes(algorithm: HashingAlgorithm): number {
  return 4 + DIGESTS[algorithm].bytes;
}

/** RabbitMQ's password hash: base64(salt ‖ digest(salt ‖ password)), 4-byte salt (rabbit_password:hash/2). */
export function hashPassword(password: string, salt: Buffer = randomBytes(4), algorithm: HashingAlgorithm = DEFAULT_HASHING): string {
  const digest = createHash(DIGESTS[algorithm].digest).update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** Whether `password` matches a stored hash of `algorithm` (SHA-256 when absent). */
export function checkPassword(password: string, passwordHash: string, algorithm: HashingAlgorithm = DEFAULT_HASHING): boolean {
  const scheme = DIGESTS[algorithm];
  if (!scheme) return false;
  const stored = Buffer.from(passwordHash, 'base64');
  if (stored.length !== 4 + scheme.bytes) return false;
  const candidate = Buffer.from(hashPassword(password, stored.subarray(0, 4), algorithm), 'base64');
  return timingSafeEqual(stored, candidate);
}

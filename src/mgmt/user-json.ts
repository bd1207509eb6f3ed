/**
 * Users as RabbitMQ's API and definitions show them, and the credentials of a user PUT or an
 * imported user: a plain `password` (hashed here with SHA-256), or a `password_hash` of one of
 * RabbitMQ's schemes, kept with its `hashing_algorithm` so logins check it the same way.
 */
import { DEFAULT_HASHING, hashBytes, hashPassword, isHashingAlgorithm } from '../auth/password';
import type { UserLimits } from '../broker/access-model';
import type { HashingAlgorithm, UserRecord } from '../broker/definitions';

type Row = Record<string, unknown>;

export function userJson(u: UserRecord, limits: UserLimits | undefined): Row {
  return { name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm ?? DEFAULT_HASHING, tags: u.tags, limits: { ...limits } };
}

export interface Credentials {
  passwordHash: string;
  /** Undefined for SHA-256, the default (so records stay as they were). */
  hashingAlgorithm?: HashingAlgorithm;
}

/**
 * The credentials `b` asks for; `existing` when it names none. Throws Error with the reason
 * (the caller answers 400 or a DefinitionsError) for an unknown scheme or a hash of the wrong size.
 */
export function credentialsOf(b: Row, existing: Credentials | undefined): Credentials {
  if (typeof b.password === 'string') return { passwordHash: hashPassword(b.password) };
  if (typeof b.password_hash === 'string') {
    const algorithm = b.hashing_algorithm ?? DEFAULT_HASHING;
    if (!isHashingAlgorithm(algorithm)) throw new Error(`hashing algorithm '${String(algorithm)}' is not supported (rabbit_password_hashing_sha256, rabbit_password_hashing_sha512 or rabbit_password_hashing_md5)`);
    const bytes = hashBytes(algorithm);
    if (b.password_hash !== '' && Buffer.from(b.password_hash, 'base64').length !== bytes) throw new Error(`password_hash is not a salted hash of ${algorithm} (base64 of ${bytes} bytes)`);
    return algorithm === DEFAULT_HASHING ? { passwordHash: b.password_hash } : { passwordHash: b.password_hash, hashingAlgorithm: algorithm };
  }
  return existing ? { passwordHash: existing.passwordHash, ...(existing.hashingAlgorithm ? { hashingAlgorithm: existing.hashingAlgorithm } : {}) } : { passwordHash: '' };
}

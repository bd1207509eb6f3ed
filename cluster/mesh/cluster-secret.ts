/**
 * The shared cluster secret: the role the Erlang cookie plays in RabbitMQ. Taken from
 * WARREN_CLUSTER_SECRET when set, otherwise from `<dataDir>/.cluster-secret`, which is
 * created on first start with random content and mode 0600. Like Erlang with its cookie
 * file, a secret file that others can read is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLUSTER_SECRET_ENV = 'WARREN_CLUSTER_SECRET';
export const CLUSTER_SECRET_FILE = '.cluster-secret';

export interface ClusterSecretSource {
  /** Node data directory holding `.cluster-secret`. */
  dataDir: string;
  /** Environment to read WARREN_CLUSTER_SECRET from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface ClusterSecret {
  secret: Buffer;
  /** 'env', or the path of the file it came from. */
  origin: string;
  /** True when the file was created by this call. */
  created: boolean;
}

/**
 * Returns the cluster secret, creating the file when neither the variable nor the file
 * exists. Throws when the file is readable by group or others, or is empty. An existing
 * file is never overwritten.
 */
export function loadClusterSecret(source: ClusterSecretSource): ClusterSecret {
  const fromEnv = (source.env ?? process.env)[CLUSTER_SECRET_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { secret: Buffer.from(fromEnv.trim(), 'utf8'), origin: 'env', created: false };
  }
  const path = join(source.dataDir, CLUSTER_SECRET_FILE);
  let created = false;
  try {
    mkdirSync(source.dataDir, { recursive: true });
    // 'wx' fails if the file exists, so an existing secret is never overwritten.
    writeFileSync(path, randomBytes(32).toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`cluster secret file ${path} must be accessible by its owner only (mode is ${mode.toString(8)}, want 600)`);
  }
  const text = readFileSync(path, 'utf8').trim();
  if (text === '') throw new Error(`cluster secret file ${path} is empty`);
  return { secret: Buffer.from(text, 'utf8'), origin: path, created };
}

import { randomBytes } from 'node:crypto';

/** RabbitMQ's generated names: a prefix and base64url of 16 random bytes without padding (22 characters). */
export function generatedName(prefix: 'amq.gen-' | 'amq.ctag-'): string {
  return prefix + randomBytes(16).toString('base64url');
}

/** RabbitMQ strips CR and LF from queue and exchange names. */
export function cleanName(name: string): string {
  return name.includes('\r') || name.includes('\n') ? name.replace(/[\r\n]/g, '') : name;
}

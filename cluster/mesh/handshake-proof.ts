/**
 * Challenge/response proofs that a peer knows the cluster secret without sending it.
 * Each side contributes a fresh random nonce; each proof is an HMAC-SHA256 keyed by the
 * secret over both nonces, both node names and the prover's role, so a proof cannot be
 * replayed on another link nor reflected back to its author.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES } from './frame-codec';

export type ProverRole = 'dialer' | 'acceptor';

const DOMAIN = 'warren-mesh-v1';

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The proof `role` sends on the link between `dialerName` and `acceptorName`. */
export function computeProof(
  secret: Buffer,
  role: ProverRole,
  dialerNonce: Buffer,
  acceptorNonce: Buffer,
  dialerName: string,
  acceptorName: string,
): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update(DOMAIN);
  hmac.update(role === 'dialer' ? '\x01' : '\x02');
  hmac.update(dialerNonce);
  hmac.update(acceptorNonce);
  // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
  for (const name of [dialerName, acceptorName]) {
    const bytes = Buffer.from(name, 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length, 0);
    hmac.update(len);
    hmac.update(bytes);
  }
  return hmac.digest();
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(expected: Buffer, received: Buffer): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/** The AMQPS listener's TLS options and the authentication settings, from the configuration. */
import { readFileSync } from 'node:fs';
import type { SecureVersion, TlsOptions } from 'node:tls';
import type { AuthSettings } from '../auth/authenticator';
import type { CertLoginFrom, SanType } from '../auth/cert-login';
import type { Config } from '../config/config';

/** ssl_handshake_timeout's default. */
const TLS_HANDSHAKE_TIMEOUT_MS = 5000;

const NODE_VERSIONS: Record<string, SecureVersion> = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1', tlsv1: 'TLSv1' };
const ORDER: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path} cannot be read: ${(err as Error).message}`);
  }
}

export function authSettings(config: Config): AuthSettings {
  const list = (s: string) => s.split(',').map((x) => x.trim()).filter((x) => x !== '' && x !== 'none');
  return {
    mechanisms: list(config.authMechanisms).map((m) => m.toUpperCase()),
    loopbackUsers: new Set(list(config.loopbackUsers)),
    certLogin: {
      from: (config.sslCertLoginFrom === 'subject_alt_name' ? 'subject_alternative_name' : config.sslCertLoginFrom) as CertLoginFrom,
      sanType: config.sslCertLoginSanType as SanType,
      sanIndex: config.sslCertLoginSanIndex,
    },
    tlsVerifyPeer: config.sslVerify === 'verify_peer',
  };
}

/** Undefined when no TLS port is set; throws with a clear message when the certificate files are missing. */
export function tlsListener(config: Config): { port: number; options: TlsOptions; handshakeTimeoutMs: number } | undefined {
  if (config.sslPort === 0) return undefined;
  return tlsListenerOn(config, config.sslPort, 'WARREN_SSL_PORT / listeners.ssl.default');
}

/** The TLS settings of the AMQPS listener (ssl_options.*) for a listener on `port` (MQTTS, STOMPS as well). */
export function tlsListenerOn(config: Config, port: number, what: string): { port: number; options: TlsOptions; handshakeTimeoutMs: number } {
  if (config.sslCertFile === '' || config.sslKeyFile === '') {
    throw new Error(`a TLS listener (${what}) needs ssl_options.certfile and ssl_options.keyfile (WARREN_SSL_CERTFILE, WARREN_SSL_KEYFILE)`);
  }
  const verifyPeer = config.sslVerify === 'verify_peer';
  const versions = config.sslVersions.split(',').map((v) => NODE_VERSIONS[v.trim().toLowerCase()]).filter((v) => v !== undefined);
  const sorted = ORDER.filter((v) => versions.includes(v));
  const options: TlsOptions = {
    cert: readPem(config.sslCertFile, 'ssl_options.certfile'),
    key: readPem(config.sslKeyFile, 'ssl_options.keyfile'),
    ca: config.sslCaCertFile === '' ? undefined : readPem(config.sslCaCertFile, 'ssl_options.cacertfile'),
    requestCert: verifyPeer,
    rejectUnauthorized: verifyPeer && config.sslFailIfNoPeerCert,
    minVersion: sorted[0],
    maxVersion: sorted[sorted.length - 1],
    ciphers: config.sslCiphers === '' ? undefined : config.sslCiphers.split(',').map((c) => c.trim()).join(':'),
  };
  return { port, options, handshakeTimeoutMs: TLS_HANDSHAKE_TIMEOUT_MS };
}

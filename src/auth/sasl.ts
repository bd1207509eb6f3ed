import { decodeTable } from '../protocol/field-table';

export interface Credentials {
  username: string;
  password: string;
}

/** Every mechanism Warren implements, in the order connection.start lists them. */
export const MECHANISMS = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] as const;

/** The mechanisms offered on a connection: the configured ones, EXTERNAL only over TLS. */
export function offeredMechanisms(configured: readonly string[], tls: boolean): string[] {
  return MECHANISMS.filter((m) => configured.includes(m) && (m !== 'EXTERNAL' || tls));
}

/** Parses a SASL response; returns undefined when it is malformed (a 502 SYNTAX_ERROR for the caller). */
export function parseSaslResponse(mechanism: string, response: Buffer): Credentials | undefined {
  if (mechanism === 'PLAIN') {
    // authzid \0 authcid \0 password
    const parts = response.toString('utf8').split('\u0000');
    if (parts.length !== 3) return undefined;
    return { username: parts[1], password: parts[2] };
  }
  if (mechanism === 'AMQPLAIN') {
    // A field table without its length prefix, holding LOGIN and PASSWORD.
    try {
      const table = decodeTable(response, 0, response.length);
      const login = table.LOGIN;
      const password = table.PASSWORD;
      if (typeof login !== 'string' || typeof password !== 'string') return undefined;
      return { username: login, password };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

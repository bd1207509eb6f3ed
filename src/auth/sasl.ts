import { decodeTable } from '../protocol/field-table';

export interface Credentials {
  username: string;
  password: string;
}

export const MECHANISMS = ['PLAIN', 'AMQPLAIN'] as const;

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

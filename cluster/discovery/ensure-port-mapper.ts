import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../src/log/logger';
import { DEFAULT_EPMD_PORT } from './epmd-codec';
import { names } from './port-mapper-client';
import { PortMapperError } from './port-mapper-errors';
import { PortMapperServer } from './port-mapper-server';

export interface EnsurePortMapperOptions {
  /** Address the in-process port mapper listens on, if one is started; default all interfaces. */
  listenHost?: string;
  /** How long to wait for an existing port mapper to answer; default 1000 ms. */
  probeTimeoutMs?: number;
  /** How many probe-then-bind rounds before giving up; default 5. */
  attempts?: number;
  logger?: Logger;
}

/** The port mapper this host uses: one found running, or one started in this process. */
export interface EnsuredPortMapper {
  readonly port: number;
  /** The in-process server when this call started it; undefined when another process serves the port. */
  readonly server: PortMapperServer | undefined;
  /** Stops the in-process server if this call started it; otherwise does nothing. */
  close(): Promise<void>;
}

/**
 * Makes sure a port mapper serves `port` on this host, as an Erlang node does
 * with epmd: if one answers NAMES there, use it; else start one in this process.
 * If binding fails because another process took the port in the meantime, probe
 * again and use that one.
 *
 * Rejects with PortMapperError PORT_MAPPER_UNAVAILABLE when the port stays taken
 * by something that does not speak EPMD.
 */
export async function ensurePortMapper(port: number = DEFAULT_EPMD_PORT, opts: EnsurePortMapperOptions = {}): Promise<EnsuredPortMapper> {
  const attempts = opts.attempts ?? 5;
  const probeTimeoutMs = opts.probeTimeoutMs ?? 1000;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await answers(port, probeTimeoutMs)) {
      return { port, server: undefined, close: async () => {} };
    }
    const server = new PortMapperServer({ port, host: opts.listenHost, killPolicy: 'refuse', logger: opts.logger });
    try {
      await server.listen();
      return { port: server.port, server, close: () => server.close() };
    } catch (err) {
      lastError = err;
      await server.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      // Someone else bound it between our probe and our bind: give them a moment to answer.
      await sleep(25 * (attempt + 1));
    }
  }
  throw new PortMapperError('PORT_MAPPER_UNAVAILABLE', `port ${port} is taken but no port mapper answers on it`, { cause: lastError });
}

async function answers(port: number, timeoutMs: number): Promise<boolean> {
  try {
    // A port mapper starts its NAMES reply with its own port: a cheap check that
    // whatever holds the port really speaks EPMD.
    return (await names('127.0.0.1', { epmdPort: port, timeoutMs })).epmdPort === port;
  } catch {
    return false;
  }
}

#!/usr/bin/env node
// warren-epmd: Warren's port mapper alone, a stand-in for Erlang's epmd daemon.
// Port from WARREN_EPMD_PORT, else ERL_EPMD_PORT, else 4369.
// ERL_EPMD_RELAXED_COMMAND_CHECK (any value) behaves as epmd's -relaxed_command_check.
import { DEFAULT_EPMD_PORT } from '../../cluster/discovery/epmd-codec';
import { PortMapperServer } from '../../cluster/discovery/port-mapper-server';
import { logger } from '../log/logger';

function configuredPort(): number {
  const raw = process.env.WARREN_EPMD_PORT ?? process.env.ERL_EPMD_PORT;
  if (raw === undefined || raw === '') return DEFAULT_EPMD_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    logger.fatal({ value: raw }, 'invalid port mapper port');
    process.exit(2);
  }
  return port;
}

async function main(): Promise<void> {
  const server = new PortMapperServer({
    port: configuredPort(),
    host: process.env.WARREN_EPMD_HOST || undefined,
    killPolicy: 'when-idle',
    relaxedCommandCheck: process.env.ERL_EPMD_RELAXED_COMMAND_CHECK !== undefined,
    onKilled: () => process.exit(0),
  });
  try {
    await server.listen();
  } catch (err) {
    logger.fatal({ err }, 'port mapper could not listen');
    process.exit(1);
  }
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();

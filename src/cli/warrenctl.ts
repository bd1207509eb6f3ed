#!/usr/bin/env node
/**
 * warrenctl: cluster operations, as rabbitmqctl's.
 *
 *   warrenctl [-n NODE] [--data-dir DIR] [--epmd-port PORT] [--timeout MS] [--json] COMMAND [ARG]
 *
 *   cluster_status              members, leader, which are up (as the node sees them)
 *   join_cluster NODE           make the node join NODE's cluster (a lone node is reset first)
 *   forget_cluster_node NODE    remove a stopped NODE from the cluster
 *   reset                       wipe a stopped node's data dir (keeps the cluster secret)
 *
 * NODE defaults to WARREN_NODENAME (warren@<hostname>); the data dir to WARREN_DATA_DIR;
 * the secret to WARREN_CLUSTER_SECRET, else <data dir>/.cluster-secret. warrenctl reaches
 * the node through the port mapper of the node's host and the mesh (see src/cli/ctl).
 * Exit codes: 0 success, 1 the operation failed, 2 bad usage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_SECRET_ENV, CLUSTER_SECRET_FILE } from '../../cluster/mesh';
import { loadConfig } from '../config/config';
import { controlRequest } from './ctl/control-client';
import { formatStatus } from './ctl/format-status';
import { resetNode } from './ctl/reset';
import type { ControlRequest } from '../../cluster/node/control-protocol';

const USAGE = `usage: warrenctl [-n NODE] [--data-dir DIR] [--epmd-port PORT] [--timeout MS] [--json] COMMAND [ARG]
commands: cluster_status | join_cluster NODE | forget_cluster_node NODE | reset`;

class UsageError extends Error {}

interface Args {
  node: string;
  dataDir: string;
  epmdPort: number;
  timeoutMs: number;
  json: boolean;
  command: string;
  arg: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const config = loadConfig();
  const a: Args = { node: config.nodeName, dataDir: config.dataDir, epmdPort: config.epmdPort, timeoutMs: 15_000, json: false, command: '', arg: undefined };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const next = (): string => {
      if (i + 1 >= argv.length) throw new UsageError(`${v} needs a value`);
      return argv[++i];
    };
    if (v === '-n' || v === '--node') a.node = next();
    else if (v === '--data-dir') a.dataDir = next();
    else if (v === '--epmd-port') a.epmdPort = Number(next());
    else if (v === '--timeout') a.timeoutMs = Number(next());
    else if (v === '--json') a.json = true;
    else if (v === '-h' || v === '--help') throw new UsageError('');
    else rest.push(v);
  }
  [a.command, a.arg] = rest;
  if (!a.command) throw new UsageError('no command given');
  if (rest.length > 2) throw new UsageError(`unexpected argument ${rest[2]}`);
  if (!Number.isInteger(a.epmdPort) || a.epmdPort <= 0) throw new UsageError('--epmd-port must be a port number');
  if (!(a.timeoutMs > 0)) throw new UsageError('--timeout must be positive');
  if (!a.node.includes('@')) a.node = `warren@${a.node}`;
  return a;
}

function readSecret(dataDir: string): Buffer {
  const fromEnv = process.env[CLUSTER_SECRET_ENV]?.trim();
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  const file = join(dataDir, CLUSTER_SECRET_FILE);
  if (!existsSync(file)) throw new Error(`no cluster secret: set ${CLUSTER_SECRET_ENV} or point --data-dir at the node's data dir (${file} does not exist)`);
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
}

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  if (a.command === 'reset') {
    if (a.arg !== undefined) throw new UsageError('reset takes no argument');
    console.log(await resetNode(a));
    return 0;
  }
  let request: ControlRequest;
  switch (a.command) {
    case 'cluster_status':
      if (a.arg !== undefined) throw new UsageError('cluster_status takes no argument');
      request = { op: 'cluster_status' };
      break;
    case 'join_cluster':
    case 'forget_cluster_node': {
      if (!a.arg) throw new UsageError(`${a.command} needs a node name`);
      const node = a.arg.includes('@') ? a.arg : `warren@${a.arg}`;
      request = { op: a.command, node };
      break;
    }
    default:
      throw new UsageError(`unknown command ${a.command}`);
  }
  const reply = await controlRequest({ node: a.node, secret: readSecret(a.dataDir), epmdPort: a.epmdPort, timeoutMs: a.timeoutMs }, request);
  if (a.json) console.log(JSON.stringify(reply));
  if (!reply.ok) {
    if (!a.json) console.error(`Error: ${reply.error}`);
    return 1;
  }
  if (!a.json) {
    if (reply.message) console.log(reply.message);
    if (request.op === 'cluster_status') console.log(formatStatus(reply.status));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    if (err instanceof UsageError) {
      if (err.message) console.error(`Error: ${err.message}`);
      console.error(USAGE);
      process.exit(err.message ? 2 : 0);
    }
    console.error(`Error: ${err.message}`);
    process.exit(1);
  },
);

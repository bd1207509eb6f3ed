#!/usr/bin/env node
/**
 * warrenctl: rabbitmqctl for Warren.
 *
 *   warrenctl [-d DATA_DIR] [-n NODE] [-p VHOST] [-q] [-s] [--formatter json|table] COMMAND [ARG ...]
 *
 * Most commands go to the node through its local control socket, <data dir>/warren.sock
 * (mode 0600: only the user running the node can use it), found with -d/--data-dir or
 * WARREN_DATA_DIR (default ./data, as warren-server). They work on a single node and on
 * cluster members alike; changes go through the node's metadata store (logged, or
 * replicated by Raft), reads come from the node's model. See COMMANDS in ctl/commands.ts.
 *
 * Cluster membership goes over the mesh, as before: join_cluster NODE, forget_cluster_node
 * NODE, and cluster_status when -n NODE is given, reach NODE through its host's port
 * mapper with the cluster secret (WARREN_CLUSTER_SECRET, else <data dir>/.cluster-secret).
 * reset wipes a stopped node's data dir.
 *
 * Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage.
 */
import { exitAfterOutput } from './ctl/exit-after-output';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_SECRET_ENV, CLUSTER_SECRET_FILE } from '../../cluster/mesh';
import { loadConfig } from '../config/config';
import { controlRequest } from './ctl/control-client';
import { formatStatus } from './ctl/format-status';
import { resetNode } from './ctl/reset';
import { socketRequest } from './ctl/socket-client';
import { COMMANDS, formatNodeStatus, formatTable, tableToObjects, UsageError, type CommandOptions } from './ctl/commands';
import type { ControlRequest } from '../../cluster/node/control-protocol';

const USAGE = `usage: warrenctl [-d DATA_DIR] [-n NODE] [-p VHOST] [-q|--quiet] [-s|--silent] [--no-table-headers]
                 [--formatter table|json] [-t SECONDS | --timeout MS] COMMAND [ARG ...]
local commands (through <data dir>/warren.sock):
${Object.entries(COMMANDS)
  .map(([name, spec]) => `  ${name}${spec.args ? ' ' + spec.args : ''}`)
  .join('\n')}
cluster commands (over the mesh, with the cluster secret; --epmd-port PORT):
  cluster_status (with -n NODE) | join_cluster NODE | forget_cluster_node NODE | reset`;

interface Args extends CommandOptions {
  node: string;
  nodeGiven: boolean;
  dataDir: string;
  epmdPort: number;
  timeoutMs: number;
  json: boolean;
  quiet: boolean;
  silent: boolean;
  headers: boolean;
  command: string;
  positional: string[];
}

function parseArgs(argv: string[]): Args {
  const config = loadConfig();
  const a: Args = {
    node: config.nodeName,
    nodeGiven: false,
    dataDir: config.dataDir,
    epmdPort: config.epmdPort,
    timeoutMs: 15_000,
    json: false,
    quiet: false,
    silent: false,
    headers: true,
    vhost: '/',
    priority: undefined,
    applyTo: 'all',
    ifEmpty: false,
    ifUnused: false,
    command: '',
    positional: [],
  };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const next = (): string => {
      if (i + 1 >= argv.length) throw new UsageError(`${v} needs a value`);
      return argv[++i];
    };
    if (v === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    } else if (v === '-n' || v === '--node') {
      a.node = next();
      a.nodeGiven = true;
    } else if (v === '-d' || v === '--data-dir') a.dataDir = next();
    else if (v === '--epmd-port') a.epmdPort = Number(next());
    else if (v === '--timeout') a.timeoutMs = Number(next());
    else if (v === '-t') a.timeoutMs = Number(next()) * 1000;
    else if (v === '--json') a.json = true;
    else if (v === '--formatter') {
      const f = next();
      if (f !== 'json' && f !== 'table') throw new UsageError(`unsupported formatter '${f}' (json or table)`);
      a.json = f === 'json';
    } else if (v === '-q' || v === '--quiet') a.quiet = true;
    else if (v === '-s' || v === '--silent') a.quiet = a.silent = true;
    else if (v === '--no-table-headers') a.headers = false;
    else if (v === '-p' || v === '--vhost') a.vhost = next();
    else if (v === '--priority') a.priority = next();
    else if (v === '--apply-to') a.applyTo = next();
    else if (v === '-e' || v === '--if-empty') a.ifEmpty = true;
    else if (v === '-u' || v === '--if-unused') a.ifUnused = true;
    else if (v === '-h' || v === '--help') throw new UsageError('');
    else if (v.startsWith('-') && v.length > 1) throw new UsageError(`unknown option ${v}`);
    else rest.push(v);
  }
  [a.command = '', ...a.positional] = rest;
  if (!a.command) throw new UsageError('no command given');
  if (!Number.isInteger(a.epmdPort) || a.epmdPort <= 0) throw new UsageError('--epmd-port must be a port number');
  if (!(a.timeoutMs > 0)) throw new UsageError('the timeout must be positive');
  if (!a.node.includes('@')) a.node = `warren@${a.node}`;
  if (a.silent) a.headers = false;
  return a;
}

function readSecret(dataDir: string): Buffer {
  const fromEnv = process.env[CLUSTER_SECRET_ENV]?.trim();
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  const file = join(dataDir, CLUSTER_SECRET_FILE);
  if (!existsSync(file)) throw new Error(`no cluster secret: set ${CLUSTER_SECRET_ENV} or point --data-dir at the node's data dir (${file} does not exist)`);
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
}

/** join_cluster, forget_cluster_node and cluster_status -n NODE: a temporary mesh peer (ctl/control-client.ts). */
async function meshCommand(a: Args): Promise<number> {
  if (a.command === 'reset') {
    if (a.positional.length > 0) throw new UsageError('reset takes no argument');
    console.log(await resetNode(a));
    return 0;
  }
  let request: ControlRequest;
  if (a.command === 'cluster_status') {
    if (a.positional.length > 0) throw new UsageError('cluster_status takes no argument');
    request = { op: 'cluster_status' };
  } else {
    if (a.positional.length !== 1) throw new UsageError(`${a.command} needs one node name`);
    const node = a.positional[0].includes('@') ? a.positional[0] : `warren@${a.positional[0]}`;
    request = { op: a.command as 'join_cluster' | 'forget_cluster_node', node };
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

/** Every other command: one request over the data dir's control socket. */
async function socketCommand(a: Args): Promise<number> {
  const spec = COMMANDS[a.command];
  if (!spec) throw new UsageError(`Command '${a.command}' not found.`);
  const n = a.positional.length;
  if (n < spec.min || n > spec.max) {
    throw new UsageError(`${a.command}: ${n < spec.min ? 'not enough' : 'too many'} arguments; usage: warrenctl ${a.command}${spec.args ? ' ' + spec.args : ''}`);
  }
  if (!['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams'].includes(a.applyTo)) {
    throw new UsageError(`--apply-to must be queues, exchanges or all, got '${a.applyTo}'`);
  }
  const request = { ...spec.request(a.positional, a), ...(a.nodeGiven ? { node: a.node } : {}) };
  const banner = spec.banner(a.positional, a);
  if (banner && !a.quiet && !a.json) console.log(banner);
  const reply = await socketRequest({ dataDir: a.dataDir, timeoutMs: a.timeoutMs }, request);
  if (!reply.ok) {
    console.error(`Error:\n${reply.error}`);
    return 1;
  }
  if (spec.show === 'table' && reply.table) {
    const { columns, rows } = reply.table;
    if (a.json) console.log(JSON.stringify(tableToObjects(columns, rows)));
    else for (const line of formatTable(columns, rows, a.headers)) console.log(line);
  } else if (spec.show === 'status' && reply.status) {
    console.log(a.json ? JSON.stringify(reply.status) : formatNodeStatus(reply.status));
  } else if (spec.show === 'definitions' && reply.definitions !== undefined) {
    const json = JSON.stringify(reply.definitions, null, 2);
    if (a.positional[0] === '-') console.log(json);
    else writeFileSync(a.positional[0], `${json}\n`);
  } else if (spec.show === 'cluster' && reply.cluster) {
    console.log(a.json ? JSON.stringify({ ok: true, status: reply.cluster }) : formatStatus(reply.cluster));
  } else if (a.json) {
    console.log(JSON.stringify({ ok: true, ...(reply.message ? { message: reply.message } : {}) }));
  } else if (reply.message && !a.quiet) {
    console.log(reply.message);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  const overMesh = a.command === 'reset' || a.command === 'join_cluster' || a.command === 'forget_cluster_node' || (a.command === 'cluster_status' && a.nodeGiven);
  return overMesh ? meshCommand(a) : socketCommand(a);
}

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (err: Error) => {
    if (err instanceof UsageError) {
      if (err.message) console.error(`Error: ${err.message}`);
      console.error(USAGE);
      return exitAfterOutput(err.message ? 2 : 0);
    }
    console.error(`Error: ${err.message}`);
    exitAfterOutput(1);
  },
);

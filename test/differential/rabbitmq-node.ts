// A private RabbitMQ node for the differential harness: Debian's rabbitmq-server (3.10) started on free
// ports with its own epmd, cookie, data and log directories under a temp dir, so it collides neither with
// Warren's port mapper on 4369 nor with other nodes on the machine. Stopped (process group) after the run.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port';

const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';
const EPMD_CANDIDATES = ['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd'];

export interface RabbitNode {
  port: number;
  version: string;
  /** rabbitmqctl against this node; rejects with its output on a non-zero exit. */
  ctl(args: string[]): Promise<string>;
  stop(): Promise<void>;
  log(): string;
}

export function rabbitmqInstalled(): boolean {
  return existsSync(RABBITMQ_SERVER);
}

export async function startRabbitNode(): Promise<RabbitNode> {
  if (!rabbitmqInstalled()) {
    throw new Error(`${RABBITMQ_SERVER} not found: install Debian's rabbitmq-server (apt-get install -y rabbitmq-server), as .ci/run does`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'warren-diff-rmq-'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const nodeName = `warren-diff-${process.pid}@localhost`;
  for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(join(dir, 'rabbitmq.conf'), 'log.console = false\nlog.file.level = warning\n');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: join(dir, 'home'),
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
  let output = '';
  const capture = (child: ChildProcess) => {
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
  };
  // Our own epmd in the foreground (erl would otherwise start a daemon that outlives the test).
  const epmdPath = EPMD_CANDIDATES.find((p) => existsSync(p)) ?? 'epmd';
  const epmd = spawn(epmdPath, ['-port', String(epmdPort)], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  capture(epmd);
  const server = spawn(RABBITMQ_SERVER, [], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  capture(server);
  const groups = [server, epmd];
  const stop = async () => {
    for (const child of groups) await stopGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (!(await canConnect(port))) {
    if (server.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`RabbitMQ did not start on ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const ctl = (args: string[]) =>
    new Promise<string>((ok, fail) => {
      execFile(RABBITMQCTL, ['-n', nodeName, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => (err ? fail(new Error(`rabbitmqctl ${args.join(' ')}: ${stderr}${stdout}`)) : ok(stdout)));
    });
  return { port, version: '3.10', ctl, stop, log: () => output };
}

/** SIGTERM to the child's process group, SIGKILL if it has not exited after 10 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      ok(true);
    });
    socket.once('error', () => ok(false));
  });
}

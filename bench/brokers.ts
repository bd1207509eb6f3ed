import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Starting and stopping the brokers under test: Warren from this repo's build, and the
 * Debian RabbitMQ 3.10 on non-default ports (AMQP 5692, distribution 25692, its own epmd on
 * 4371, node rabbit-bench@localhost) with its data, logs, cookie and plugins file in a
 * temporary directory, so that it never meets another RabbitMQ or epmd on this host.
 */

const WARREN_SERVER_JS = resolve(__dirname, '../src/cli/warren-server.js');
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';
/** Raises the soft file-descriptor limit to the hard one (10,000 connections need more than 1,024). */
const RAISE_NOFILE = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null;';

/** A running broker under test. */
export interface BrokerUnderTest {
  name: 'Warren' | 'RabbitMQ';
  url: string;
  /** The process whose RSS is the broker's memory (node, or beam.smp). */
  pid(): number;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on, found by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => ok(port));
    });
  });
}

/** True when something accepts connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      ok(true);
    });
    sock.once('error', () => ok(false));
  });
}

async function waitForPort(port: number, timeoutMs: number, alive: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (!alive()) throw new Error(`${what} exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => child.once('exit', () => ok()));
}

/** Resident set size of a process in bytes, from /proc/PID/status VmRSS. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Starts warren-server on a free port with a fresh data directory. */
export async function startWarren(extraArgs: string[] = [], env: Record<string, string> = {}): Promise<BrokerUnderTest> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-bench-'));
  // Started through a launcher of another name, so that a `pkill -f warren-server` aimed at
  // someone else's brokers on a shared machine does not end the one under test.
  const launcher = join(dataDir, 'broker-under-test.js');
  writeFileSync(launcher, `require(${JSON.stringify(WARREN_SERVER_JS)});\n`);
  const child = spawn('sh', ['-c', `${RAISE_NOFILE} exec "$0" "$@"`, process.execPath, ...extraArgs, launcher], {
    env: { ...process.env, WARREN_NODE_PORT: String(port), WARREN_NODE_IP: '127.0.0.1', WARREN_DATA_DIR: join(dataDir, 'data'), WARREN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port, 15_000, () => child.exitCode === null, 'warren-server');
  return {
    name: 'Warren',
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    pid: () => child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`warren-server had already exited (${child.exitCode ?? child.signalCode})`);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** True when the Debian RabbitMQ server script is installed. */
export function rabbitMqInstalled(): boolean {
  return existsSync(RABBITMQ_SERVER);
}

export interface RabbitPorts {
  amqp: number;
  dist: number;
  epmd: number;
}

export const DEFAULT_RABBIT_PORTS: RabbitPorts = { amqp: 5692, dist: 25692, epmd: 4371 };

function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      // The process went away.
    }
  }
  return kids;
}

/** Processes named `comm` whose environment has HOME=`home` (ours, for a RabbitMQ we started). */
function processesWithHome(comm: string, home: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`HOME=${home}`)) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

function findBeam(rootPid: number): number | null {
  const todo = [rootPid];
  while (todo.length > 0) {
    const pid = todo.shift()!;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'beam.smp') return pid;
    } catch {
      continue;
    }
    todo.push(...childrenOf(pid));
  }
  return null;
}

/**
 * Starts RabbitMQ (no plugins) on the given non-default ports. Refuses to start when any of
 * them is taken, since another RabbitMQ or epmd there would not be ours to stop.
 */
export async function startRabbitMq(ports: RabbitPorts = DEFAULT_RABBIT_PORTS, extra: { plugins?: string[]; conf?: string[] } = {}): Promise<BrokerUnderTest> {
  for (const p of [ports.amqp, ports.dist, ports.epmd]) {
    if (await portOpen(p)) throw new Error(`port ${p} is in use; RabbitMQ for the bench needs it free`);
  }
  const base = mkdtempSync(join(tmpdir(), 'rabbit-bench-'));
  const home = join(base, 'home');
  mkdirSync(home);
  writeFileSync(join(base, 'enabled_plugins'), `[${(extra.plugins ?? []).join(',')}].\n`);
  writeFileSync(join(base, 'rabbitmq.conf'), ['loopback_users = none', ...(extra.conf ?? [])].join('\n') + '\n');
  const node = 'rabbit-bench@localhost';
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HOME: home,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(ports.amqp),
    RABBITMQ_DIST_PORT: String(ports.dist),
    ERL_EPMD_PORT: String(ports.epmd),
    RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: join(base, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq'),
    RABBITMQ_CONF_ENV_FILE: join(base, 'rabbitmq-env.conf'),
  };
  writeFileSync(join(base, 'rabbitmq-env.conf'), '');
  const child = spawn('sh', ['-c', `${RAISE_NOFILE} exec "$0"`, RABBITMQ_SERVER], {
    env,
    cwd: base,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(ports.amqp, 60_000, () => child.exitCode === null, 'rabbitmq-server');
  const beam = findBeam(child.pid!);
  if (beam === null) throw new Error('rabbitmq-server is listening but its beam.smp process was not found');
  return {
    name: 'RabbitMQ',
    url: `amqp://guest:guest@127.0.0.1:${ports.amqp}/`,
    pid: () => beam,
    async stop() {
      spawnSync(RABBITMQCTL, ['-n', node, 'stop'], { env, stdio: 'ignore', timeout: 60_000 });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited(child);
      clearTimeout(timer);
      // Killing the start script does not end the VM it started: a VM that outlived
      // `rabbitmqctl stop` (a loaded machine) is ended here.
      try {
        process.kill(beam, 'SIGKILL');
      } catch {
        // Already gone.
      }
      // The epmd on our own port was started by this RabbitMQ; stop it too (by its HOME, ours,
      // when `epmd -kill` refuses because the VM had not unregistered yet).
      spawnSync('epmd', ['-port', String(ports.epmd), '-kill'], { env, stdio: 'ignore', timeout: 10_000 });
      for (const pid of processesWithHome('epmd', home)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

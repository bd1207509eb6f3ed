// Helpers for the real-process cluster suites: spawn warren-server nodes (optionally inside a
// network namespace), wait for them, run warrenctl, and declare queues with amqplib.
import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as amqp from 'amqplib';

const SERVER_JS = resolve(__dirname, '../../src/cli/warren-server.js');
const WARRENCTL_JS = resolve(__dirname, '../../src/cli/warrenctl.js');
export const SECRET = 'cluster-test-secret';

export interface NodeSpec {
  name: string;
  /** Address the test reaches the AMQP port on. */
  host: string;
  amqpPort: number;
  distPort: number;
  epmdPort: number;
  /** Run inside this network namespace (ip netns exec). */
  netns?: string;
  env?: Record<string, string>;
  /** user:password for AMQP; default guest:guest (guest may only connect from localhost). */
  credentials?: string;
  /** Another build's dist/src/cli/warren-server.js (a benchmark comparing builds); default this build's. */
  serverJs?: string;
}

export class ClusterProcess {
  child: ChildProcess | undefined;
  output = '';
  readonly dataDir = mkdtempSync(join(tmpdir(), 'warren-cluster-'));
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: NodeSpec,
    private readonly peers: string[],
  ) {}

  get url(): string {
    return `amqp://${this.spec.credentials ?? 'guest:guest'}@${this.spec.host}:${this.spec.amqpPort}`;
  }

  start(): void {
    const s = this.spec;
    const env = {
      ...process.env,
      WARREN_NODENAME: s.name,
      WARREN_NODE_PORT: String(s.amqpPort),
      WARREN_DIST_PORT: String(s.distPort),
      WARREN_EPMD_PORT: String(s.epmdPort),
      WARREN_DATA_DIR: this.dataDir,
      WARREN_CLUSTER_NODES: this.peers.join(','),
      WARREN_CLUSTER_SECRET: SECRET,
      WARREN_LOG_LEVEL: process.env.WARREN_TEST_LOG_LEVEL ?? 'info',
      // Management listeners off unless a test asks for them: fixed ports would collide.
      WARREN_MGMT_PORT: '0',
      WARREN_PROMETHEUS_PORT: '0',
      WARREN_MQTT_PORT: '0',
      WARREN_STOMP_PORT: '0',
      WARREN_WEB_STOMP_PORT: '0',
      WARREN_WEB_MQTT_PORT: '0',
      ...s.env,
    };
    const server = s.serverJs ?? SERVER_JS;
    const [cmd, args] = s.netns ? ['ip', ['netns', 'exec', s.netns, process.execPath, server]] : [process.execPath, [server]];
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    this.exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the AMQP port accepts connections (a fresh node listens once it is in the cluster). */
  async waitListening(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect(this.spec.host, this.spec.amqpPort))) {
      if (!this.running) throw new Error(`${this.spec.name} exited early:\n${this.output.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${this.spec.name} did not listen:\n${this.output.slice(-4000)}`);
      await sleep(25);
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  async destroy(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs warrenctl against `node` (inside `netns` if given). */
export function warrenctl(args: string[], opts: { epmdPort: number; netns?: string }): CtlResult {
  const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, process.execPath, WARRENCTL_JS, ...args]] : [process.execPath, [WARRENCTL_JS, ...args]];
  const r = spawnSync(cmd, argv, {
    env: { ...process.env, WARREN_CLUSTER_SECRET: SECRET, WARREN_EPMD_PORT: String(opts.epmdPort), WARREN_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * warrenctl without blocking this process's event loop (a drill's workload runs in it: a
 * spawnSync here would stall its publishes and count as the broker's stall).
 */
export function warrenctlAsync(args: string[], opts: { epmdPort: number; netns?: string }): Promise<CtlResult> {
  const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, process.execPath, WARRENCTL_JS, ...args]] : [process.execPath, [WARRENCTL_JS, ...args]];
  return new Promise((resolve) => {
    execFile(
      cmd,
      argv,
      { env: { ...process.env, WARREN_CLUSTER_SECRET: SECRET, WARREN_EPMD_PORT: String(opts.epmdPort), WARREN_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

export interface StatusJson {
  ok: boolean;
  error?: string;
  status: { node: string; leader: string; members: { node: string; up: boolean; leader: boolean }[] };
}

export function clusterStatus(node: string, opts: { epmdPort: number; netns?: string }): StatusJson {
  const r = warrenctl(['-n', node, '--json', 'cluster_status'], opts);
  if (r.code !== 0 && r.stdout.trim() === '') throw new Error(`warrenctl failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

/** clusterStatus without blocking the event loop. */
export async function clusterStatusAsync(node: string, opts: { epmdPort: number; netns?: string }): Promise<StatusJson> {
  const r = await warrenctlAsync(['-n', node, '--json', 'cluster_status'], opts);
  if (r.code !== 0 && r.stdout.trim() === '') throw new Error(`warrenctl failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

/** Opens a connection and channel, runs `fn`, always closes; AMQP errors reject with the server's text. */
export async function withChannel<T>(url: string, fn: (ch: amqp.Channel) => Promise<T>): Promise<T> {
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return await fn(ch);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export async function queueExists(url: string, queue: string): Promise<boolean> {
  try {
    await withChannel(url, (ch) => ch.checkQueue(queue));
    return true;
  } catch (err) {
    if (/NOT_FOUND/.test((err as Error).message)) return false;
    throw err;
  }
}

/** Polls until check() is truthy; throws with `what` after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, host);
    socket.setTimeout(1000, () => {
      socket.destroy();
      ok(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      ok(true);
    });
    socket.once('error', () => ok(false));
  });
}

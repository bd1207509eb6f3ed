import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './free-port';

const SERVER_JS = resolve(__dirname, '../../src/cli/warren-server.js');

export interface BrokerProcess {
  /** Host to connect to (127.0.0.1 for a spawned broker). */
  host: string;
  port: number;
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** True when WARREN_TEST_URL points the suite at an already running broker (e.g. RabbitMQ). */
  external: boolean;
  output(): string;
  /** SIGTERM, wait for exit; removes the data dir unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** SIGKILL, wait for exit; keeps the data dir. Throws on an external broker: tests that kill should skip there. */
  kill(): Promise<void>;
}

export interface StartOptions {
  port?: number;
  dataDir?: string;
  env?: Record<string, string>;
  /** Starts the server under these RLIMIT_NOFILE values (set with ulimit in a child shell that then execs node). */
  nofile?: { soft: number; hard: number };
}

/**
 * The URL of an externally managed broker to test against instead of spawning warren-server,
 * e.g. a real RabbitMQ used to validate the black-box suites: WARREN_TEST_URL=amqp://guest:guest@127.0.0.1:5682
 */
export function externalBrokerUrl(): string | undefined {
  const url = process.env.WARREN_TEST_URL;
  return url && url.trim() !== '' ? url.trim() : undefined;
}

/** True when the suites run against an external broker (see externalBrokerUrl). */
export function isExternalBroker(): boolean {
  return externalBrokerUrl() !== undefined;
}

/**
 * True when the external target is RabbitMQ of the given major.minor (WARREN_TEST_RABBITMQ=3.10), for the few
 * places where an older RabbitMQ differs from the 4.x behaviour the suites assert.
 */
export function isRabbitMqVersion(version: string): boolean {
  return isExternalBroker() && process.env.WARREN_TEST_RABBITMQ === version;
}

function externalBroker(rawUrl: string): BrokerProcess {
  const parsed = new URL(rawUrl);
  const port = parsed.port === '' ? 5672 : Number(parsed.port);
  // Drop a trailing "/" vhost so tests can append their own path or query.
  const url = rawUrl.replace(/\/+$/, '');
  // A never-spawned placeholder: there is no process of ours behind an external broker.
  const child = new ChildProcess();
  return {
    host: parsed.hostname,
    port,
    url,
    dataDir: '',
    child,
    external: true,
    output: () => '',
    async stop() {
      // Not ours to stop.
    },
    async kill() {
      throw new Error('kill() is not supported on an external broker (WARREN_TEST_URL); skip this test there');
    },
  };
}

/**
 * Starts a real warren-server process and resolves once its AMQP port accepts connections.
 * With WARREN_TEST_URL set it spawns nothing and returns a handle for that broker instead.
 */
export async function startBroker(opts: StartOptions = {}): Promise<BrokerProcess> {
  const external = externalBrokerUrl();
  if (external !== undefined) return externalBroker(external);
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'warren-test-'));
  const command = opts.nofile
    ? ['/bin/sh', ['-c', `ulimit -Sn ${opts.nofile.soft} && ulimit -Hn ${opts.nofile.hard} && exec "$0" "$1"`, process.execPath, SERVER_JS]] as const
    : [process.execPath, [SERVER_JS]] as const;
  const child = spawn(command[0], [...command[1]], {
    env: {
      ...process.env,
      WARREN_NODE_PORT: String(port),
      WARREN_NODE_IP: '127.0.0.1',
      WARREN_DATA_DIR: dataDir,
      WARREN_LOG_LEVEL: process.env.WARREN_TEST_LOG_LEVEL ?? 'warn',
      // Management listeners off unless a test asks for them: fixed ports would collide.
      WARREN_MGMT_PORT: '0',
      WARREN_PROMETHEUS_PORT: '0',
      // The other protocols' listeners are off unless a test asks for them on free ports.
      WARREN_MQTT_PORT: '0',
      WARREN_STOMP_PORT: '0',
      WARREN_WEB_STOMP_PORT: '0',
      WARREN_WEB_MQTT_PORT: '0',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`warren-server exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`warren-server did not listen on ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    dataDir,
    child,
    external: false,
    output: () => output,
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
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

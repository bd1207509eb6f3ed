// Durability figures for issue 4, Warren next to RabbitMQ 3.10 when it is installed.
//
//   npx tsc -p . && node bench/durability-bench.mjs [--brokers warren,rabbitmq] [--seconds 10]
//        [--restart-messages 1000000] [--backlog-messages 1000000] [--backlog-bytes 16]
//
// 1. throughput: confirmed persistent 1 KiB messages/s into one durable queue, one and ten
//    publishers (warren-perf -c 200 -f persistent); Warren's fsyncs/s from its store stats
//    log (WARREN_STORE_STATS_MS=1000) over the same seconds.
// 2. restart: N stored persistent 1 KiB messages, clean stop (and for Warren also kill -9),
//    then the time from spawn to the AMQP port accepting and to the queue reporting all N
//    (Warren also logs "recovery finished" with its own ms).
// 3. backlog: RSS of the broker with N persistent messages of --backlog-bytes queued in one
//    durable queue (published with confirms, no consumer).
// RabbitMQ runs from /usr/lib/rabbitmq/bin on ports 5684 (AMQP), 25684 (dist), 4373 (epmd)
// with its files under a temporary directory, and is stopped at the end.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const SERVER = join(root, 'dist/src/cli/warren-server.js');
const PERF = join(root, 'dist/src/cli/warren-perf.js');
const RABBIT_BIN = '/usr/lib/rabbitmq/bin';
const RABBIT_PORTS = { amqp: 5684, dist: 25684, epmd: 4373 };

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
const brokers = arg('brokers', existsSync(join(RABBIT_BIN, 'rabbitmq-server')) ? 'warren,rabbitmq' : 'warren').split(',');
const seconds = Number(arg('seconds', '10'));
const restartMessages = Number(arg('restart-messages', '1000000'));
const backlogMessages = Number(arg('backlog-messages', '1000000'));
const backlogBytes = Number(arg('backlog-bytes', '16'));
const only = arg('only', 'throughput,restart,backlog').split(',');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes) => Math.round(bytes / 2 ** 20);

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => ok(port));
    });
  });
}

function portOpen(port) {
  return new Promise((ok) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => (sock.destroy(), ok(true)));
    sock.once('error', () => ok(false));
  });
}

async function waitPort(port, alive, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (!alive()) throw new Error(`broker exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await sleep(20);
  }
}

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function childrenOf(pid) {
  const kids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) kids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return kids;
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => child.once('exit', ok));
}

/** warren-perf with --json, run asynchronously so the broker's log pipe keeps draining; returns its result. */
function perf(url, args) {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [PERF, '--uri', url, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', () => {
      try {
        ok(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        fail(new Error(`warren-perf failed: ${err}\n${out}`));
      }
    });
  });
}

/** Polls the queue's message count with a passive declare (through warren-perf's codec-free path: amqplib). */
async function queueCount(url, queue) {
  const amqp = await import('amqplib');
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(queue)).messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

// ---- brokers ----

class Warren {
  name = 'Warren';
  constructor() {
    this.dataDir = mkdtempSync(join(tmpdir(), 'warren-dbench-'));
    this.log = '';
  }
  async start(env = {}) {
    this.port ??= await freePort();
    this.url = `amqp://guest:guest@127.0.0.1:${this.port}/`;
    this.log = '';
    const startedMs = performance.now();
    this.child = spawn(process.execPath, [SERVER], {
      env: { ...process.env, WARREN_NODE_PORT: String(this.port), WARREN_NODE_IP: '127.0.0.1', WARREN_DATA_DIR: this.dataDir, WARREN_LOG_LEVEL: 'info', WARREN_STORE_STATS_MS: '1000', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout.on('data', (d) => (this.log += d));
    this.child.stderr.on('data', (d) => (this.log += d));
    await waitPort(this.port, () => this.child.exitCode === null);
    return performance.now() - startedMs;
  }
  pid() {
    return this.child.pid;
  }
  /** Store stats lines logged since `fromLength` of the log. */
  statsSince(fromLength) {
    return this.log
      .slice(fromLength)
      .split('\n')
      .filter((l) => l.includes('"message store stats"'))
      .map((l) => JSON.parse(l));
  }
  recoveryMs() {
    const line = this.log.split('\n').find((l) => l.includes('"recovery finished"'));
    return line ? JSON.parse(line).ms : NaN;
  }
  async stop({ kill = false } = {}) {
    this.child.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await exited(this.child);
  }
  cleanup() {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

class Rabbit {
  name = 'RabbitMQ';
  constructor() {
    this.base = mkdtempSync(join(tmpdir(), 'rabbit-dbench-'));
    this.node = `warren-dbench-${process.pid}@localhost`;
    mkdirSync(join(this.base, 'home'));
    writeFileSync(join(this.base, 'enabled_plugins'), '[].\n');
    writeFileSync(join(this.base, 'rabbitmq.conf'), 'loopback_users = none\n');
    writeFileSync(join(this.base, 'rabbitmq-env.conf'), '');
    this.env = {
      ...process.env,
      HOME: join(this.base, 'home'),
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(RABBIT_PORTS.amqp),
      RABBITMQ_DIST_PORT: String(RABBIT_PORTS.dist),
      ERL_EPMD_PORT: String(RABBIT_PORTS.epmd),
      RABBITMQ_MNESIA_BASE: join(this.base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.base, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.base, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(this.base, 'rabbitmq'),
      RABBITMQ_CONF_ENV_FILE: join(this.base, 'rabbitmq-env.conf'),
    };
    this.url = `amqp://guest:guest@127.0.0.1:${RABBIT_PORTS.amqp}/`;
  }
  async start() {
    // Refuse ports someone else uses; on a restart our own epmd is still there.
    if (!this.everStarted) for (const p of Object.values(RABBIT_PORTS)) if (await portOpen(p)) throw new Error(`port ${p} in use`);
    this.everStarted = true;
    const startedMs = performance.now();
    this.child = spawn(join(RABBIT_BIN, 'rabbitmq-server'), [], { env: this.env, cwd: this.base, stdio: ['ignore', 'ignore', 'ignore'] });
    await waitPort(RABBIT_PORTS.amqp, () => this.child.exitCode === null);
    return performance.now() - startedMs;
  }
  pid() {
    // The RSS that counts is beam.smp's: find it among the server script's descendants.
    const todo = [this.child.pid];
    while (todo.length > 0) {
      const pid = todo.shift();
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'beam.smp') return pid;
        todo.push(...childrenOf(pid));
      } catch {
        // gone
      }
    }
    return this.child.pid;
  }
  statsSince() {
    return [];
  }
  recoveryMs() {
    return NaN;
  }
  async stop({ kill = false } = {}) {
    if (kill) {
      process.kill(this.pid(), 'SIGKILL');
    } else {
      spawnSync(join(RABBIT_BIN, 'rabbitmqctl'), ['-n', this.node, 'stop'], { env: this.env, stdio: 'ignore', timeout: 120_000 });
    }
    await Promise.race([exited(this.child), sleep(60_000)]);
    this.child = undefined;
  }
  cleanup() {
    spawnSync('epmd', ['-port', String(RABBIT_PORTS.epmd), '-kill'], { env: this.env, stdio: 'ignore', timeout: 10_000 });
    rmSync(this.base, { recursive: true, force: true });
  }
}

// ---- scenarios ----

async function throughput(broker, producers) {
  const queue = `dbench.tp.${producers}`;
  const mark = broker.log?.length ?? 0;
  const r = await perf(broker.url, ['-x', String(producers), '-y', '0', '-s', '1024', '-c', '200', '-f', 'persistent', '-u', queue, '-z', String(seconds), '--delete']);
  await sleep(1500); // the last stats lines
  const stats = broker.statsSince(mark).filter((s) => s.recordsPerSecond > 0);
  const fsyncs = stats.length > 0 ? Math.round(stats.reduce((a, s) => a + s.fsyncsPerSecond, 0) / stats.length) : undefined;
  return { producers, confirmedPerSecond: r.confirmedRate, fsyncsPerSecond: fsyncs, messagesPerFsync: fsyncs ? Math.round(r.confirmedRate / fsyncs) : undefined };
}

async function restart(broker) {
  const queue = 'dbench.restart';
  const fill = await perf(broker.url, ['-x', '1', '-y', '0', '-s', '1024', '-c', '500', '-f', 'persistent', '-u', queue, '-C', String(restartMessages)]);
  const out = { messages: fill.confirmed };
  for (const kill of broker.name === 'Warren' ? [false, true] : [false]) {
    await broker.stop({ kill });
    const spawnToPortMs = await broker.start();
    const startedMs = performance.now() - spawnToPortMs;
    let count = 0;
    while ((count = await queueCount(broker.url, queue).catch(() => -1)) < fill.confirmed) await sleep(50);
    out[kill ? 'afterKill9' : 'afterCleanStop'] = {
      spawnToPortMs: Math.round(spawnToPortMs),
      spawnToAllMessagesMs: Math.round(performance.now() - startedMs),
      recoveryLogMs: broker.recoveryMs(),
      rssMiB: mib(rss(broker.pid())),
    };
  }
  await perf(broker.url, ['-x', '0', '-y', '0', '-u', queue, '--predeclared', '--delete', '-z', '1']);
  return out;
}

async function backlog(broker) {
  const queue = 'dbench.backlog';
  const before = rss(broker.pid());
  const startedMs = performance.now();
  const fill = await perf(broker.url, ['-x', '1', '-y', '0', '-s', String(backlogBytes), '-c', '1000', '-f', 'persistent', '-u', queue, '-C', String(backlogMessages)]);
  const publishSeconds = (performance.now() - startedMs) / 1000;
  await sleep(2000);
  const after = rss(broker.pid());
  return { messages: fill.confirmed, bodyBytes: backlogBytes, publishSeconds: Math.round(publishSeconds), rssBeforeMiB: mib(before), rssAfterMiB: mib(after), bytesPerMessage: Math.round((after - before) / fill.confirmed) };
}

const results = {};
for (const name of brokers) {
  const broker = name === 'rabbitmq' ? new Rabbit() : new Warren();
  const r = (results[broker.name] = {});
  try {
    await broker.start();
    if (only.includes('throughput')) {
      r.throughput = [await throughput(broker, 1), await throughput(broker, 10)];
      console.error(broker.name, 'throughput', JSON.stringify(r.throughput));
    }
    if (only.includes('restart')) {
      r.restart = await restart(broker);
      console.error(broker.name, 'restart', JSON.stringify(r.restart));
    }
    if (only.includes('backlog')) {
      r.backlog = await backlog(broker);
      console.error(broker.name, 'backlog', JSON.stringify(r.backlog));
    }
  } catch (err) {
    r.error = String(err?.stack ?? err);
    console.error(broker.name, 'failed:', r.error);
  } finally {
    if (broker.child) await broker.stop().catch(() => undefined);
    broker.cleanup();
  }
}
console.log(JSON.stringify({ machine: { cpus: (await import('node:os')).cpus().length, memMiB: mib((await import('node:os')).totalmem()) }, seconds, results }, null, 2));

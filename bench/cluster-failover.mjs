// Cluster figures for issue 5, with real warren-server processes on 127.0.0.1:
//   - time from start to a formed three-node cluster (fresh data dirs),
//   - metadata changes per second through Raft (queue.declare with amqplib): one node
//     (a Raft group of one, WARREN_CLUSTER=on), three nodes (on the leader and through a
//     follower), and the single-node DurableMetadataStore for comparison,
//   - leader failover after kill -9: time until a declare on a survivor succeeds,
//     median and worst of ROUNDS (default 20).
// Usage: npx tsc -p . && node bench/cluster-failover.mjs [rounds]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const SERVER = join(root, 'dist/src/cli/warren-server.js');
const CTL = join(root, 'dist/src/cli/warrenctl.js');
const ROUNDS = Number(process.argv[2] ?? 20);
const SECRET = 'bench-secret';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function canConnect(port) {
  return new Promise((ok) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), ok(true)));
    s.once('error', () => ok(false));
  });
}

class Node {
  constructor(name, env) {
    this.name = name;
    this.env = env;
    this.dataDir = mkdtempSync(join(tmpdir(), 'warren-bench-'));
  }
  async init() {
    this.port = await freePort();
    this.dist = await freePort();
    return this;
  }
  get url() {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }
  start() {
    this.child = spawn(process.execPath, [SERVER], {
      env: { ...process.env, WARREN_NODENAME: this.name, WARREN_NODE_PORT: String(this.port), WARREN_NODE_IP: '127.0.0.1', WARREN_DIST_PORT: String(this.dist), WARREN_DATA_DIR: this.dataDir, WARREN_CLUSTER_SECRET: SECRET, WARREN_LOG_LEVEL: 'warn', ...this.env },
      stdio: 'ignore',
    });
    this.exited = new Promise((ok) => this.child.once('exit', ok));
  }
  async listening() {
    while (!(await canConnect(this.port))) await sleep(10);
  }
  async kill(signal = 'SIGKILL') {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
  destroy() {
    this.child?.kill('SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function status(node, epmdPort) {
  const r = spawnSync(process.execPath, [CTL, '-n', node, '--json', 'cluster_status'], { env: { ...process.env, WARREN_CLUSTER_SECRET: SECRET, WARREN_EPMD_PORT: String(epmdPort) }, encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout).status;
  } catch {
    return undefined;
  }
}

async function declares(url, total, channels, prefix) {
  const conn = await amqp.connect(url);
  const chans = await Promise.all(Array.from({ length: channels }, () => conn.createChannel()));
  const per = Math.ceil(total / channels);
  const t = process.hrtime.bigint();
  await Promise.all(chans.map(async (ch, c) => {
    for (let i = 0; i < per; i++) await ch.assertQueue(`${prefix}.${c}.${i}`, { durable: true });
  }));
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  await conn.close();
  return Math.round((per * channels) / s);
}

async function declareRates(label, url) {
  const seq = await declares(url, 1000, 1, `${label}.seq`);
  const par = await declares(url, 4000, 16, `${label}.par`);
  console.log(`${label.padEnd(34)} ${String(seq).padStart(6)} declares/s (1 channel)   ${String(par).padStart(6)} declares/s (16 channels)`);
}

const nodes = [];
process.on('exit', () => nodes.forEach((n) => n.destroy()));
process.on('SIGINT', () => process.exit(1));

async function main() {
  // Single node, no cluster: DurableMetadataStore.
  const solo = await new Node('warren-solo@127.0.0.1', { WARREN_CLUSTER: 'off' }).init();
  nodes.push(solo);
  solo.start();
  await solo.listening();
  await declareRates('single node, DurableMetadataStore', solo.url);
  await solo.kill('SIGTERM');

  // Single node, Raft group of one.
  const epmdSolo = await freePort();
  const raftSolo = await new Node('warren-raft1@127.0.0.1', { WARREN_CLUSTER: 'on', WARREN_EPMD_PORT: String(epmdSolo) }).init();
  nodes.push(raftSolo);
  const t1 = Date.now();
  raftSolo.start();
  await raftSolo.listening();
  console.log(`single node on Raft: listening ${Date.now() - t1} ms after spawn`);
  await declareRates('single node, Raft group of one', raftSolo.url);
  await raftSolo.kill('SIGTERM');

  // Three nodes.
  const epmdPort = await freePort();
  const names = ['warren-a@127.0.0.1', 'warren-b@127.0.0.1', 'warren-c@127.0.0.1'];
  const env = { WARREN_EPMD_PORT: String(epmdPort), WARREN_CLUSTER_NODES: names.join(',') };
  const three = await Promise.all(names.map((n) => new Node(n, env).init()));
  nodes.push(...three);
  const t0 = Date.now();
  three.forEach((n) => n.start());
  await Promise.all(three.map((n) => n.listening()));
  const listeningMs = Date.now() - t0;
  for (;;) {
    const s = status(names[0], epmdPort);
    if (s && s.members.length === 3 && s.leader && s.members.every((m) => m.up)) break;
    await sleep(20);
  }
  console.log(`three nodes: all AMQP listeners up ${listeningMs} ms after spawn; cluster formed (3 members, leader, all up per warrenctl) ${Date.now() - t0} ms after spawn`);
  const leaderName = status(names[0], epmdPort).leader;
  const leader = three.find((n) => n.name === leaderName);
  const follower = three.find((n) => n !== leader);
  await declareRates('three nodes, on the leader', leader.url);
  await declareRates('three nodes, through a follower', follower.url);

  // Failover rounds.
  const times = [];
  for (let round = 0; round < ROUNDS; round++) {
    let s;
    while (!(s = status(names[round % 3], epmdPort)) || !s.leader || !s.members.every((m) => m.up)) await sleep(50);
    const victim = three.find((n) => n.name === s.leader);
    const survivor = three.find((n) => n !== victim);
    const conn = await amqp.connect(survivor.url);
    conn.on('error', () => {});
    const killedAt = process.hrtime.bigint();
    await victim.kill('SIGKILL');
    for (let i = 0; ; i++) {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      try {
        await ch.assertQueue(`failover.${round}.${i}`, { durable: true });
        break;
      } catch {
        await sleep(20);
      }
    }
    const ms = Number(process.hrtime.bigint() - killedAt) / 1e6;
    times.push(ms);
    await conn.close().catch(() => {});
    console.log(`failover round ${round + 1}: killed ${victim.name}, declare on ${survivor.name} ok after ${ms.toFixed(0)} ms`);
    victim.start();
    await victim.listening();
  }
  times.sort((a, b) => a - b);
  const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
  console.log(`failover after kill -9 of the leader (${times.length} rounds): median ${median.toFixed(0)} ms, worst ${times[times.length - 1].toFixed(0)} ms, best ${times[0].toFixed(0)} ms`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

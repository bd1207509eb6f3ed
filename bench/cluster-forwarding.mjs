// Clustered messaging figures for issue 9 (a benchmark, not a test), with warren-perf against a
// three-node cluster of real warren-server processes on 127.0.0.1 (free ports, a private
// port mapper port; names warren-a/b/c@127.0.0.1):
//   1. forwarded 1→1: one producer on node A → a queue homed on node B → one consumer on node C,
//      16 B and 1 KiB bodies, next to the same producer and consumer both on B (all local), and
//      each hop alone (producer on A, consumer on B; producer on B, consumer on C);
//      messages/s received, and CPU time per message on each node (utime+stime from
//      /proc/<pid>/stat before and after, divided by the messages received);
//   2. horizontal scaling: 1, 2 and 3 nodes, each with its own clients and three node-local
//      queues (3 producer → queue → consumer flows per node), and a 3-node mix where one flow
//      in three per node publishes to a queue homed on the next node (a third of the traffic
//      crosses nodes); aggregate messages/s and CPU per message per node;
//   3. a model of N separate hosts from the measured CPU per message (this machine has few
//      cores shared by brokers and clients, so measured aggregate rates cannot show scaling).
// Every run is bounded by -z SECONDS; warren-perf children are killed after SECONDS + 30 s.
// Usage: npx tsc -p . && node bench/cluster-forwarding.mjs [--seconds 5] [--out bench/results/cluster-forwarding.json]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const SERVER = join(root, 'dist/src/cli/warren-server.js');
const CTL = join(root, 'dist/src/cli/warrenctl.js');
const PERF = join(root, 'dist/src/cli/warren-perf.js');
const SECRET = 'bench-forwarding-secret';
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const SECONDS = Number(opt('--seconds', '5'));
const OUT = resolve(opt('--out', join(root, 'bench/results/cluster-forwarding.json')));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
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
    s.setTimeout(1000, () => (s.destroy(), ok(false)));
    s.once('connect', () => (s.destroy(), ok(true)));
    s.once('error', () => ok(false));
  });
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSec(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

class Node {
  constructor(letter, epmdPort, peers) {
    this.letter = letter;
    this.name = `warren-${letter}@127.0.0.1`;
    this.epmdPort = epmdPort;
    this.peers = peers;
    this.dataDir = mkdtempSync(join(tmpdir(), `warren-fwd-${letter}-`));
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
    this.output = '';
    this.child = spawn(process.execPath, [SERVER], {
      env: {
        ...process.env,
        WARREN_NODENAME: this.name,
        WARREN_NODE_PORT: String(this.port),
        WARREN_NODE_IP: '127.0.0.1',
        WARREN_DIST_PORT: String(this.dist),
        WARREN_EPMD_PORT: String(this.epmdPort),
        WARREN_DATA_DIR: this.dataDir,
        WARREN_CLUSTER_NODES: this.peers.join(','),
        WARREN_CLUSTER_SECRET: SECRET,
        WARREN_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr.on('data', (d) => (this.output = (this.output + d).slice(-4000)));
    this.exited = new Promise((ok) => this.child.once('exit', ok));
  }
  async listening(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect(this.port))) {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not listen`);
      await sleep(50);
    }
  }
  async stop() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function status(node) {
  const r = spawnSync(process.execPath, [CTL, '-n', node.name, '--json', 'cluster_status'], {
    env: { ...process.env, WARREN_CLUSTER_SECRET: SECRET, WARREN_EPMD_PORT: String(node.epmdPort), WARREN_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 10_000,
  });
  try {
    return JSON.parse(r.stdout).status;
  } catch {
    return undefined;
  }
}

async function formed(nodes, timeoutMs = 40_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = nodes.map(status);
    if (s.every((x) => x && x.leader && x.members.length === nodes.length && x.members.every((m) => m.up))) return;
    if (Date.now() > deadline) throw new Error(`cluster did not form: ${JSON.stringify(s)}`);
    await sleep(250);
  }
}

/** Declares `queue` (transient, as warren-perf does without -f persistent) through `node`: client-local placement homes it there. */
async function declareOn(node, queues) {
  const conn = await amqp.connect(node.url);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) {
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.assertQueue(q, { durable: false, autoDelete: false });
    }
  } finally {
    await conn.close();
  }
}

/** Waits until every node knows every queue (metadata applied everywhere), bounded. */
async function visibleEverywhere(nodes, queues, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (const n of nodes) {
    const conn = await amqp.connect(n.url);
    conn.on('error', () => undefined);
    try {
      for (const q of queues) {
        for (;;) {
          const ch = await conn.createChannel();
          ch.on('error', () => undefined);
          const ok = await ch.checkQueue(q).then(() => true, () => false);
          if (ok) {
            await ch.close().catch(() => undefined);
            break;
          }
          if (Date.now() > deadline) throw new Error(`${q} not visible on ${n.name}`);
          await sleep(50);
        }
      }
    } finally {
      await conn.close().catch(() => undefined);
    }
  }
}

/** One warren-perf process; resolves with its JSON result (or an error record). */
function perf(uri, perfArgs) {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [PERF, '--uri', uri, '--json', '--predeclared', '-z', String(SECONDS), ...perfArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 30) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (line) ok(JSON.parse(line));
      else ok({ sent: 0, confirmed: 0, nacked: 0, received: 0, error: `exit ${code}: ${err.slice(-500)}` });
    });
  });
}

/**
 * Runs flows concurrently for SECONDS: each flow is { from, to, queue } (producer on node `from`,
 * consumer on node `to`); the queue's home is wherever it was declared. Returns received
 * messages, messages/s and CPU µs per received message per node.
 */
async function runFlows(nodes, flows, bodyBytes) {
  const before = nodes.map((n) => cpuSec(n.child.pid));
  const t0 = Date.now();
  const results = await Promise.all(
    flows.flatMap((f) => [
      perf(nodes[f.from].url, ['-x', '1', '-y', '0', '-u', f.queue, '-s', String(bodyBytes), '-c', '200']),
      perf(nodes[f.to].url, ['-x', '0', '-y', '1', '-u', f.queue, '-q', '200']),
    ]),
  );
  const elapsedSec = (Date.now() - t0) / 1000;
  const after = nodes.map((n) => cpuSec(n.child.pid));
  const received = results.reduce((s, r) => s + (r.received ?? 0), 0);
  const sent = results.reduce((s, r) => s + (r.sent ?? 0), 0);
  const confirmed = results.reduce((s, r) => s + (r.confirmed ?? 0), 0);
  const nacked = results.reduce((s, r) => s + (r.nacked ?? 0), 0);
  const errors = results.map((r) => r.error).filter(Boolean);
  const cpu = nodes.map((n, i) => after[i] - before[i]);
  return {
    bodyBytes,
    flows: flows.map((f) => `${nodes[f.from].letter}→${f.queue}→${nodes[f.to].letter}`),
    sent,
    confirmed,
    nacked,
    received,
    receivedPerSec: Math.round(received / SECONDS),
    elapsedSec: Number(elapsedSec.toFixed(1)),
    cpuSecPerNode: Object.fromEntries(nodes.map((n, i) => [n.letter, Number(cpu[i].toFixed(2))])),
    cpuUsPerMsgPerNode: Object.fromEntries(nodes.map((n, i) => [n.letter, received > 0 ? Number(((cpu[i] * 1e6) / received).toFixed(1)) : null])),
    /** All nodes' CPU per received message: what the cluster spends on one message. */
    cpuUsPerMsgTotal: received > 0 ? Number(((cpu.reduce((a, b) => a + b, 0) * 1e6) / received).toFixed(1)) : null,
    errors,
  };
}

async function freshQueues(nodes, queues) {
  for (const [i, qs] of queues) await declareOn(nodes[i], qs);
}

async function main() {
  const epmdPort = await freePort();
  const names = ['a', 'b', 'c'].map((l) => `warren-${l}@127.0.0.1`);
  const nodes = await Promise.all(['a', 'b', 'c'].map((l) => new Node(l, epmdPort, names).init()));
  const onExit = () => nodes.forEach((n) => n.child?.kill('SIGKILL'));
  process.once('exit', onExit);
  process.once('SIGINT', () => process.exit(130));
  const [A, B, C] = [0, 1, 2];
  const result = {
    note: 'All nodes and clients share this machine\'s CPUs: aggregate rates here cannot show scaling across hosts; CPU per message per node can, and the model divides one core per host by it (network and client costs not included).',
    when: new Date().toISOString(), seconds: SECONDS, cpus: cpus().length, cpuModel: cpus()[0]?.model, forwarding: [], scaling: [], model: [] };
  try {
    const t = Date.now();
    for (const n of nodes) n.start();
    await Promise.all(nodes.map((n) => n.listening()));
    await formed(nodes);
    console.log(`cluster formed in ${Date.now() - t} ms (${names.join(', ')})`);

    // 1. Forwarded 1→1 next to all-local, 16 B and 1 KiB; the two hops also measured alone.
    const paths = [
      { path: 'local B→B→B', from: B, to: B },
      { path: 'publish fwd A→B→B', from: A, to: B },
      { path: 'remote consume B→B→C', from: B, to: C },
      { path: 'forwarded A→B→C', from: A, to: C },
    ];
    for (const size of [16, 1024]) {
      for (const p of paths) {
        await freshQueues(nodes, [[B, ['fwd.q']]]);
        await visibleEverywhere(nodes, ['fwd.q']);
        result.forwarding.push({ path: p.path, ...(await runFlows(nodes, [{ from: p.from, to: p.to, queue: 'fwd.q' }], size)) });
      }
    }

    // 2. Horizontal scaling: 3 flows per node, node-local queues, on 1, 2, 3 nodes; then a 3-node mix
    // with one flow in three per node crossing to a queue homed on the next node.
    const size = 16;
    for (const k of [1, 2, 3]) {
      const flows = [];
      const decl = [];
      for (let i = 0; i < k; i++) {
        const qs = [0, 1, 2].map((j) => `scale.n${i}.${j}`);
        decl.push([i, qs]);
        qs.forEach((q) => flows.push({ from: i, to: i, queue: q }));
      }
      await freshQueues(nodes, decl);
      await visibleEverywhere(nodes, decl.flatMap(([, qs]) => qs));
      result.scaling.push({ setup: `${k} node${k > 1 ? 's' : ''}, all local`, nodes: k, crossingShare: 0, ...(await runFlows(nodes, flows, size)) });
    }
    {
      const flows = [];
      const decl = [];
      for (let i = 0; i < 3; i++) {
        const next = (i + 1) % 3;
        decl.push([i, [`mix.n${i}.0`, `mix.n${i}.1`]], [next, [`mix.cross.${i}`]]);
        flows.push({ from: i, to: i, queue: `mix.n${i}.0` }, { from: i, to: i, queue: `mix.n${i}.1` }, { from: i, to: next, queue: `mix.cross.${i}` });
      }
      await freshQueues(nodes, decl);
      await visibleEverywhere(nodes, decl.flatMap(([, qs]) => qs));
      result.scaling.push({ setup: '3 nodes, a third crossing', nodes: 3, crossingShare: 1 / 3, ...(await runFlows(nodes, flows, size)) });
    }

    // 3. A model of separate hosts, one broker core each, from the CPU per message measured above
    // (16 B; client CPU and network time not included).
    const at = (path) => result.forwarding.find((r) => r.path === path && r.bodyBytes === 16);
    const loc = at('local B→B→B');
    const hop = at('publish fwd A→B→B');
    const fwd = at('forwarded A→B→C');
    if (loc.received > 0 && hop.received > 0 && fwd.received > 0) {
      const localUs = loc.cpuUsPerMsgTotal;
      // 1→1 forwarded on three hosts: bounded by its busiest node.
      const busiest = Math.max(...Object.values(fwd.cpuUsPerMsgPerNode));
      result.model.push({ setup: '1→1 local, one host', usPerMsg: localUs, msgsPerSec: Math.round(1e6 / localUs) });
      result.model.push({ setup: '1→1 forwarded A→B→C, three hosts', usPerMsg: busiest, msgsPerSec: Math.round(1e6 / busiest) });
      // N hosts, each with its own clients; a share of the flows publishes to a queue homed on another host.
      for (const share of [0, 1 / 3, 1]) {
        const usPerMsg = (1 - share) * localUs + share * hop.cpuUsPerMsgTotal;
        for (const n of [1, 2, 3, 5]) {
          if (n === 1 && share > 0) continue;
          const what = share === 0 ? 'all local' : share === 1 ? 'all crossing' : 'a third crossing';
          result.model.push({ setup: `${n} host${n > 1 ? 's' : ''}, ${what}`, hosts: n, crossingShare: Number(share.toFixed(2)), usPerMsg: Number(usPerMsg.toFixed(1)), msgsPerSec: Math.round((n * 1e6) / usPerMsg) });
        }
      }
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    process.off('exit', onExit);
  }

  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
  printTables(result);
  console.log(`\nwrote ${OUT}`);
}

function printTables(r) {
  const pad = (s, n) => String(s).padEnd(n);
  const us = (o) => ['a', 'b', 'c'].map((l) => pad(o[l] ?? '-', 6)).join(' ');
  const head = `${pad('recv/s', 8)} ${pad('confirmed', 10)} ${pad('received', 9)} ${pad('nacked', 7)} CPU µs/msg a  b      c      total`;
  const row = (x) => `${pad(x.receivedPerSec, 8)} ${pad(x.confirmed, 10)} ${pad(x.received, 9)} ${pad(x.nacked, 7)} ${us(x.cpuUsPerMsgPerNode)} ${x.cpuUsPerMsgTotal ?? '-'}${x.errors.length ? `  errors: ${x.errors[0]}` : ''}`;
  console.log(`\nforwarding, one producer and one consumer (${r.seconds} s per run, ${r.cpus} CPUs: ${r.cpuModel})`);
  console.log(`${pad('path (producer→home→consumer)', 30)} ${pad('body', 5)} ${head}`);
  for (const x of r.forwarding) {
    console.log(`${pad(x.path, 30)} ${pad(x.bodyBytes, 5)} ${row(x)}`);
    if (x.received === 0 && x.confirmed > 0) console.log(`  ^ ${x.confirmed} publishes confirmed but none reached the consumer: they were not forwarded to the queue's home`);
  }
  for (const size of [16, 1024]) {
    const l = r.forwarding.find((x) => x.path === 'local B→B→B' && x.bodyBytes === size);
    const f = r.forwarding.find((x) => x.path === 'forwarded A→B→C' && x.bodyBytes === size);
    if (l && f) console.log(`  ${size} B: forwarded/local throughput here ${l.receivedPerSec ? (f.receivedPerSec / l.receivedPerSec).toFixed(2) : '-'} (target ≥ 0.5); CPU on the receiving node A ${f.cpuUsPerMsgPerNode.a ?? '-'} µs/msg vs a local delivery ${l.cpuUsPerMsgPerNode.b ?? '-'} (target: below)`);
  }
  console.log('\nhorizontal scaling (16 B, 3 producer→queue→consumer flows per node)');
  console.log(`${pad('setup', 30)} ${pad('', 5)} ${head}`);
  for (const x of r.scaling) console.log(`${pad(x.setup, 30)} ${pad('', 5)} ${row(x)}`);
  console.log(`  note: brokers and warren-perf clients share ${r.cpus} CPUs here, so aggregate msg/s cannot grow with nodes; CPU per message is what carries over to separate hosts (model below).`);
  if (r.model.length) {
    console.log('\nmodel: separate hosts, one broker core each, from the CPU per message above (16 B; clients and network not counted)');
    for (const m of r.model) console.log(`${pad(m.setup, 36)} ${pad(`${m.usPerMsg} µs/msg`, 13)} ${m.msgsPerSec} msg/s`);
  } else console.log('\nmodel: not computed (a run received no messages)');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Confirmed persistent throughput into three-member quorum queues (issue 10's benchmark),
// Warren and RabbitMQ side by side in one run: each broker as a three-node cluster in its
// own three network namespaces (the docker-compose layout: one node per namespace, standard
// ports), every queue declared through node 1, which leads it. Cases, each run against
// Warren and RabbitMQ in turn (the order alternating from case to case):
//   body 1 KiB and 16 B × 1 queue and 100 queues × two layouts:
//     followers: publisher on node 2, consumer on node 3 (neither leads the queues)
//     leader:    publisher and consumer on node 1 (the leader)
// The load is warren-perf (the repo's PerfTest) as two processes, a producer and a
// consumer: one producer and one consumer per queue, each producer with 100 unconfirmed
// messages at most (-c 100), each consumer with prefetch 100 and manual acks (-q 100),
// persistent messages. The figure is the consumers' received rate over the seconds after a
// warm-up (the mean of warren-perf's per-second lines), with the producers' confirmed rate,
// the median end-to-end latency and the CPU time the three nodes used per message beside it
// (every process in their namespaces, from /proc). With several rounds the table shows the
// mean rate and the median latency and CPU of the rounds.
//
//   npx tsc -p . && node dist/bench/drills/quorum-throughput.js [seconds=10] [rounds=1]
//   node dist/bench/drills/quorum-throughput.js --table FILE.json ...   (one table from the rows of several runs)
// Environment: QT_BROKERS=warren,rabbitmq (default both when rabbitmq-server is installed);
// QT_WARREN_BASE=DIR (another checkout, built: its Warren runs as a third cluster, broker
// `warren-base`, interleaved with the others, e.g. main's build against a branch's);
// QT_ONLY=substring of a case id (e.g. 1024.q1.followers); QT_NO_WRITE=1 (no results file),
// QT_RESULTS=path (another results file);
// QT_RABBIT_ERL_ARGS (extra emulator flags for RabbitMQ, e.g. '+sbwt none'); QT_PROFILE_DIR
// (a module Warren's nodes preload, e.g. one writing a CPU profile at exit).
// Every row also gives the CPU the other clusters (idle meanwhile) used during its steady
// seconds (`othersCpuPct`, % of one core). QT_FREEZE=1: the other clusters' processes are
// stopped (SIGSTOP, every process in their namespaces) while one is measured and continued
// (SIGCONT) after, the same for every broker; a cluster continued is measured only once
// node 1 leads its queues again.
// Root is required (network namespaces). Results: bench/results/quorum-throughput.json.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as amqp from 'amqplib';
import { NetnsCluster } from '../../test/cluster/netns-cluster';
import { RabbitNetnsCluster, rabbitmqUnavailableReason } from './rabbitmq-netns-cluster';

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 1);
const WARMUP_SEC = 3;
const PERF_JS = resolve(__dirname, '../../src/cli/warren-perf.js');
const RESULTS = process.env.QT_RESULTS ?? resolve(__dirname, '../../../bench/results/quorum-throughput.json');

type Broker = 'warren' | 'warren-base' | 'rabbitmq';

interface Case {
  id: string;
  bodyBytes: number;
  queues: number;
  layout: 'followers' | 'leader';
}

interface Row extends Case {
  broker: Broker;
  round: number;
  receivedPerSec: number;
  confirmedPerSec: number;
  latencyP50Ms: number | null;
  /** The consumers' received rate second by second over the steady seconds (shows a mode change within a round). */
  receivedBySecond?: number[];
  /** CPU time of the three nodes (every process in their namespaces) per message received, µs. */
  cpuUsPerMsg: number;
  /** The same, node by node (nodes 1, 2, 3; node 1 leads). */
  cpuUsPerMsgByNode?: number[];
  /** The node leading the case's last queue after the round when it is not node 1 (an election under load): the row's layout is not the one named. */
  leaderMovedTo?: string;
  /** CPU the other clusters' namespaces used meanwhile, % of one core (they are idle, or stopped with QT_FREEZE). */
  othersCpuPct?: number;
  error?: string;
}

interface Target {
  broker: Broker;
  /** AMQP URLs of nodes 1, 2, 3. */
  urls: string[];
  leaderOf(queue: string): string;
  leaderName: string;
  /** The nodes' network namespaces (their CPU time is measured). */
  namespaces: string[];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const bodyBytes of [1024, 16]) {
    for (const queues of [1, 100]) {
      for (const layout of ['followers', 'leader'] as const) out.push({ id: `${bodyBytes}.q${queues}.${layout}`, bodyBytes, queues, layout });
    }
  }
  const only = process.env.QT_ONLY;
  return only ? out.filter((c) => c.id.includes(only)) : out;
}

/** The prefix warren-perf names the queues with: `p` for one queue, `p-1` .. `p-N` for N. */
function queuePrefix(queues: number): string {
  return `qt${queues}`;
}

function queueNames(queues: number): string[] {
  const p = queuePrefix(queues);
  return queues === 1 ? [p] : Array.from({ length: queues }, (_, i) => `${p}-${i + 1}`);
}

async function declare(url: string, names: string[]): Promise<void> {
  const c = await amqp.connect(url);
  try {
    const ch = await c.createChannel();
    for (const q of names) await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  } finally {
    await c.close();
  }
}

async function purge(url: string, names: string[]): Promise<void> {
  const c = await amqp.connect(url);
  try {
    const ch = await c.createChannel();
    for (const q of names) await ch.purgeQueue(q);
  } finally {
    await c.close();
  }
}

interface PerfRun {
  intervals: { t: number; confirmed: number; received: number; p50: number | null }[];
  stdout: string;
  stderr: string;
  code: number | null;
}

function perf(args: string[], timeoutMs: number): Promise<PerfRun> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, [PERF_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const intervals: PerfRun['intervals'] = [];
      const re = /^time ([\d.]+) s, sent \d+ msg\/s, confirmed (\d+) msg\/s, received (\d+) msg\/s(?:, latency p50 ([\d.]+) ms)?/;
      for (const line of stderr.split('\n')) {
        const m = re.exec(line);
        if (m) intervals.push({ t: Number(m[1]), confirmed: Number(m[2]), received: Number(m[3]), p50: m[4] === undefined ? null : Number(m[4]) });
      }
      ok({ intervals, stdout, stderr, code });
    });
  });
}

/** CPU seconds used so far by every process in each namespace (user + system). */
function cpuSeconds(namespaces: string[]): number[] {
  const hz = 100; // USER_HZ, the unit of /proc/<pid>/stat times on Linux
  const out: number[] = [];
  for (const ns of namespaces) {
    let ticks = 0;
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // exited meanwhile
      }
    }
    out.push(ticks / hz);
  }
  return out;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** CPU microseconds per message (0 without messages or CPU time). */
function usPerMsg(cpuSec: number, messages: number): number {
  return messages > 0 && cpuSec > 0 ? Math.round((cpuSec * 1e6) / messages) : 0;
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Every process in the namespaces gets `signal` (QT_FREEZE: SIGSTOP and SIGCONT). */
function signalAll(namespaces: string[], signal: NodeJS.Signals): void {
  for (const ns of namespaces) {
    for (const pid of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), signal);
      } catch {
        // exited meanwhile
      }
    }
  }
}

async function measure(t: Target, c: Case, round: number, others: Target[] = []): Promise<Row> {
  const [n1, n2, n3] = t.urls;
  const pubUrl = c.layout === 'followers' ? n2 : n1;
  const subUrl = c.layout === 'followers' ? n3 : n1;
  const total = WARMUP_SEC + seconds;
  const common = ['--json', '--predeclared', '-u', queuePrefix(c.queues), '-f', 'persistent', '-s', String(c.bodyBytes), '-z', String(total)];
  if (c.queues > 1) common.push('--queues', String(c.queues));
  const timeoutMs = (total + 60) * 1000;
  const consumer = perf(['--uri', subUrl, '-x', '0', '-y', String(c.queues), '-q', '100', ...common], timeoutMs);
  await new Promise((r) => setTimeout(r, 500)); // consumers attached before the first publish
  const producer = perf(['--uri', pubUrl, '-x', String(c.queues), '-y', '0', '-c', '100', ...common], timeoutMs);
  // CPU of the nodes over the steady seconds only.
  let cpu0: number[] = [];
  let cpu1: number[] = [];
  const otherNs = others.flatMap((o) => o.namespaces);
  let others0 = 0;
  let others1 = 0;
  const warm = setTimeout(() => {
    cpu0 = cpuSeconds(t.namespaces);
    others0 = sum(cpuSeconds(otherNs));
  }, (WARMUP_SEC + 0.5) * 1000 - 500);
  const end = setTimeout(() => {
    cpu1 = cpuSeconds(t.namespaces);
    others1 = sum(cpuSeconds(otherNs));
  }, (total - 0.5) * 1000 - 500);
  const [cons, prod] = await Promise.all([consumer, producer]);
  clearTimeout(warm);
  clearTimeout(end);
  // Intervals wholly after the warm-up, and not the last (partial) one.
  const steady = (r: PerfRun) => r.intervals.filter((i) => i.t > WARMUP_SEC + 0.5 && i.t <= total - 0.5);
  const error = cons.code !== 0 || prod.code !== 0 ? `exit codes ${cons.code}/${prod.code}: ${(cons.stderr + prod.stderr).split('\n').filter((l) => /error|warren-perf:/i.test(l)).slice(0, 3).join(' | ')}` : undefined;
  const received = mean(steady(cons).map((i) => i.received));
  const steadySec = total - 0.5 - (WARMUP_SEC + 0.5);
  return {
    ...c,
    broker: t.broker,
    round,
    receivedPerSec: Math.round(received),
    receivedBySecond: steady(cons).map((i) => i.received),
    confirmedPerSec: Math.round(mean(steady(prod).map((i) => i.confirmed))),
    latencyP50Ms: median(steady(cons).flatMap((i) => (i.p50 === null ? [] : [i.p50]))),
    cpuUsPerMsg: usPerMsg(sum(cpu1) - sum(cpu0), received * steadySec),
    cpuUsPerMsgByNode: cpu1.map((c, i) => usPerMsg(c - (cpu0[i] ?? 0), received * steadySec)),
    ...(others.length > 0 ? { othersCpuPct: Math.round(((others1 - others0) * 1000) / steadySec) / 10 } : {}),
    ...(error ? { error } : {}),
  };
}

async function warrenTarget(cluster: NetnsCluster, sets: number[], broker: Broker = 'warren'): Promise<Target> {
  const urls = cluster.nodes.map((n) => n.url);
  for (const q of sets) await declare(urls[0], queueNames(q));
  const leaderOf = (queue: string) => String(cluster.listQueues(0, ['name', 'leader']).find((r) => r.name === queue)?.leader ?? '');
  return { broker, urls, leaderOf, leaderName: cluster.nodes[0].name, namespaces: cluster.nodes.map((n) => n.ns) };
}

async function rabbitTarget(cluster: RabbitNetnsCluster, sets: number[]): Promise<Target> {
  const urls = cluster.nodes.map((n) => n.url);
  for (const q of sets) await declare(urls[0], queueNames(q));
  return { broker: 'rabbitmq', urls, leaderOf: (q) => cluster.leaderOf(q), leaderName: cluster.nodes[0].name, namespaces: cluster.nodes.map((n) => n.ns) };
}

/** Every queue is led by node 1 (the layout the figures assume); throws otherwise. */
async function checkLeaders(t: Target, sets: number[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const q of sets) {
    const probe = queueNames(q)[queueNames(q).length - 1];
    for (;;) {
      const leader = t.leaderOf(probe);
      if (leader === t.leaderName) break;
      if (Date.now() > deadline) throw new Error(`${t.broker}: queue ${probe} is led by ${leader || 'nobody'}, not ${t.leaderName}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function table(rows: Row[]): string {
  const byCase = new Map<string, Row[]>();
  for (const r of rows) byCase.set(r.id, [...(byCase.get(r.id) ?? []), r]);
  const lines = [
    '| body | queues | publisher / consumer | Warren msg/s | RabbitMQ 3.10 msg/s | Warren ÷ RabbitMQ | latency p50 (ms) Warren / RabbitMQ | nodes\' CPU per message (µs) Warren / RabbitMQ |',
    '|---|---|---|--:|--:|--:|---|---|',
  ];
  const withBase = rows.some((r) => r.broker === 'warren-base');
  if (withBase) {
    lines[0] += ' Warren base msg/s | Warren ÷ base | latency p50 (ms) base | CPU per message (µs) base |';
    lines[1] += '--:|--:|---|---|';
  }
  for (const [, rs] of byCase) {
    const c = rs[0];
    const w = rs.filter((r) => r.broker === 'warren');
    const rb = rs.filter((r) => r.broker === 'rabbitmq');
    const wr = Math.round(mean(w.map((r) => r.receivedPerSec)));
    const rr = Math.round(mean(rb.map((r) => r.receivedPerSec)));
    const lat = (xs: Row[]) => {
      const m = median(xs.flatMap((r) => (r.latencyP50Ms === null ? [] : [r.latencyP50Ms])));
      return m === null ? '–' : m < 100 ? m.toFixed(1) : Math.round(m).toLocaleString('en-US');
    };
    const cpu = (xs: Row[]) => median(xs.flatMap((r) => (r.cpuUsPerMsg > 0 ? [r.cpuUsPerMsg] : []))) ?? '–';
    const layout = c.layout === 'followers' ? 'node 2 / node 3 (not the leader)' : 'node 1 / node 1 (the leader)';
    const ratio = rb.length > 0 && rr > 0 ? `${(wr / rr).toFixed(2)} ×` : '–';
    let line = `| ${c.bodyBytes === 1024 ? '1 KiB' : `${c.bodyBytes} B`} | ${c.queues} | ${layout} | ${w.length ? wr.toLocaleString('en-US') : '–'} | ${rb.length ? rr.toLocaleString('en-US') : '–'} | ${ratio} | ${lat(w)} / ${lat(rb)} | ${cpu(w)} / ${cpu(rb)} |`;
    if (withBase) {
      const bs = rs.filter((r) => r.broker === 'warren-base');
      const br = Math.round(mean(bs.map((r) => r.receivedPerSec)));
      line += ` ${bs.length ? br.toLocaleString('en-US') : '–'} | ${bs.length && br > 0 ? `${(wr / br).toFixed(2)} ×` : '–'} | ${lat(bs)} | ${cpu(bs)} |`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--table') {
    const files = process.argv.slice(3);
    const rows = files.flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as { rows: Row[] }).rows);
    console.log(table(rows));
    return;
  }
  const wanted = (process.env.QT_BROKERS ?? 'warren,rabbitmq').split(',');
  const rabbitMissing = rabbitmqUnavailableReason();
  if (wanted.includes('rabbitmq') && rabbitMissing) {
    if (process.env.QT_BROKERS) throw new Error(rabbitMissing);
    console.error(`RabbitMQ left out: ${rabbitMissing}`);
  }
  const baseDir = process.env.QT_WARREN_BASE;
  if (baseDir) wanted.push('warren-base');
  const brokers = wanted.filter((b): b is Broker => b === 'warren' || b === 'warren-base' || (b === 'rabbitmq' && !rabbitMissing));
  const todo = cases();
  const sets = [...new Set(todo.map((c) => c.queues))];
  const profileDir = process.env.QT_PROFILE_DIR;
  const warren = brokers.includes('warren')
    ? new NetnsCluster({ env: { WARREN_LOG_LEVEL: 'warn', ...(profileDir ? { NODE_OPTIONS: `--require ${profileDir}` } : {}) } })
    : undefined;
  let base: NetnsCluster | undefined;
  let rabbit: RabbitNetnsCluster | undefined;
  const rows: Row[] = [];
  /** QT_FREEZE: the clusters whose processes are stopped now. */
  const frozen = new Set<Target>();
  try {
    const targets: Target[] = [];
    if (warren) {
      await warren.start();
      targets.push(await warrenTarget(warren, sets));
    }
    if (baseDir) {
      // Built after the first cluster is up, so that it takes another subnet.
      base = new NetnsCluster({
        prefix: 'wb',
        serverJs: resolve(baseDir, 'dist/src/cli/warren-server.js'),
        env: { WARREN_LOG_LEVEL: 'warn', ...(profileDir ? { NODE_OPTIONS: `--require ${profileDir}` } : {}) },
      });
      await base.start();
      targets.push(await warrenTarget(base, sets, 'warren-base'));
    }
    if (brokers.includes('rabbitmq')) {
      rabbit = new RabbitNetnsCluster(3, 'wr', process.env.QT_RABBIT_ERL_ARGS ?? '');
      await rabbit.start();
      targets.push(await rabbitTarget(rabbit, sets));
    }
    for (const t of targets) await checkLeaders(t, sets);
    const freeze = process.env.QT_FREEZE === '1';
    if (freeze) {
      for (const t of targets.slice(1)) {
        signalAll(t.namespaces, 'SIGSTOP');
        frozen.add(t);
      }
    }
    let flip = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const c of todo) {
        // Each broker in turn, who goes first rotating from case to case.
        const k = flip++ % targets.length;
        const order = [...targets.slice(k), ...targets.slice(0, k)];
        for (const t of order) {
          if (frozen.has(t)) {
            for (const o of targets) {
              if (o === t || frozen.has(o)) continue;
              signalAll(o.namespaces, 'SIGSTOP');
              frozen.add(o);
            }
            signalAll(t.namespaces, 'SIGCONT');
            frozen.delete(t);
            // Its nodes saw every peer fall silent at once: measured once node 1 leads again.
            await new Promise((r) => setTimeout(r, 1000));
            await checkLeaders(t, sets);
          }
          const row = await measure(t, c, round, targets.filter((o) => o !== t));
          const leader = t.leaderOf(queueNames(c.queues)[queueNames(c.queues).length - 1]);
          if (leader !== t.leaderName) row.leaderMovedTo = leader || 'nobody';
          rows.push(row);
          console.error(JSON.stringify(row));
          await purge(t.urls[0], queueNames(c.queues));
        }
      }
    }
    for (const t of frozen) signalAll(t.namespaces, 'SIGCONT');
    frozen.clear();
    if (profileDir && warren) for (const n of warren.nodes) await n.proc.kill('SIGTERM');
  } finally {
    for (const t of frozen) signalAll(t.namespaces, 'SIGCONT');
    await rabbit?.destroy();
    await base?.destroy();
    await warren?.destroy();
  }
  const command = `node dist/bench/drills/quorum-throughput.js ${seconds} ${rounds}`;
  console.log(`${command}\n\n${table(rows)}`);
  if (!process.env.QT_NO_WRITE) {
    writeFileSync(RESULTS, JSON.stringify({ command, date: new Date().toISOString(), seconds, rounds, warmupSec: WARMUP_SEC, rows }, null, 1) + '\n');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

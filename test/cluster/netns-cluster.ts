// A three-node Warren cluster in network namespaces, laid out as docker-compose lays it out:
// each node in its own namespace with its own address and the standard ports (AMQP 5672,
// inter-node 25672, port mapper 4369), named warren@<address>, every node listing all the
// others in WARREN_CLUSTER_NODES, one shared cluster secret. The namespaces hang off one
// bridge that also carries an address in the root namespace, so the test process reaches
// every node directly; client scripts (pika, kombu, amqplib) can also run inside a node's
// namespace. A partition is a bridge port taken down (tc and iptables do not work here).
//
// The network itself (namespaces, veths, bridge, stale clean-up) is NetnsNetwork's
// (netns-network.ts): every name is `w9<owner>` + role + digit, <owner> the creating
// process's pid in base 36. WARREN_NETNS_PREFIX replaces `w9` (two letters, so names stay under 15 characters), so two
// people running the harness on one machine never clean up each other's networks.
import { spawn, spawnSync } from 'node:child_process';
import { execPath } from 'node:process';
import { resolve } from 'node:path';
import { NetnsNetwork, netnsUnavailableReason as networkUnavailableReason } from './netns-network';
import { ClusterProcess, SECRET, clusterStatus, clusterStatusAsync, sleep, waitFor, type CtlResult, type StatusJson } from './cluster-support';

const PREFIX = netnsPrefix(process.env.WARREN_NETNS_PREFIX ?? 'w9');

function netnsPrefix(p: string): string {
  if (!/^[a-z][a-z0-9]$/.test(p)) throw new Error(`WARREN_NETNS_PREFIX: two characters, a lowercase letter then a letter or digit (got '${p}')`);
  return p;
}
const WARRENCTL_JS = resolve(__dirname, '../../src/cli/warrenctl.js');
export const PYTHON = process.env.WARREN_TEST_PYTHON ?? '/usr/bin/python3';
/** The source folder of the client scripts (python files are not compiled into dist/). */
export const CLIENTS_SRC = resolve(__dirname, '../../../test/cluster/clients');
/** The compiled folder of the TypeScript client scripts (amqplib), run with node. */
export const CLIENTS_DIST = resolve(__dirname, 'clients');

export interface NetnsNode {
  index: number;
  ns: string;
  addr: string;
  name: string;
  /** amqp://guest:guest@<addr>:5672 (guest is allowed off loopback, as in docker-compose.yml). */
  url: string;
  proc: ClusterProcess;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Undefined when namespaces can be made here; otherwise why not (the suite skips with that text). */
export function netnsUnavailableReason(): string | undefined {
  return networkUnavailableReason(PREFIX);
}

export interface NetnsClusterOptions {
  size?: number;
  /** Extra environment for every node (e.g. WARREN_CLUSTER_TICK_MS). */
  env?: Record<string, string>;
  /** Names' prefix (two characters) instead of WARREN_NETNS_PREFIX's: for a second cluster in one process. */
  prefix?: string;
  /** Another build's warren-server.js (NodeSpec.serverJs). */
  serverJs?: string;
}

export class NetnsCluster {
  readonly nodes: NetnsNode[] = [];
  readonly subnet: string;
  private readonly network: NetnsNetwork;

  constructor(private readonly opts: NetnsClusterOptions = {}) {
    this.network = new NetnsNetwork(opts.size ?? 3, opts.prefix === undefined ? PREFIX : netnsPrefix(opts.prefix));
    this.subnet = this.network.subnet;
    const names = this.network.hosts.map((h) => `warren@${h.addr}`);
    for (const { index: i, ns, addr } of this.network.hosts) {
      const proc = new ClusterProcess(
        {
          name: names[i],
          host: addr,
          amqpPort: 5672,
          distPort: 25672,
          epmdPort: 4369,
          netns: ns,
          env: { WARREN_LOOPBACK_USERS: 'none', ...opts.env },
          serverJs: opts.serverJs,
        },
        names,
      );
      this.nodes.push({ index: i, ns, addr, name: names[i], url: `amqp://guest:guest@${addr}:5672`, proc });
    }
  }

  /** Builds the network, starts every node, and waits until all agree on three members up and one leader. */
  async start(timeoutMs = 45_000): Promise<void> {
    this.buildNetwork();
    for (const n of this.nodes) n.proc.start();
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.nodes.map((n) => n.proc.waitListening(timeoutMs)));
    await this.waitFormed(Math.max(1000, deadline - Date.now()));
  }

  /** The bridge, the namespaces and their veths, without starting any node (another broker may run there). */
  buildNetwork(): void {
    this.network.up();
  }

  /** Waits until every running node reports all members up and the same leader. */
  async waitFormed(timeoutMs = 30_000): Promise<StatusJson[]> {
    return waitFor(
      'a formed cluster (all members up, one leader)',
      async () => {
        const running = this.nodes.filter((n) => n.proc.running);
        if (running.length !== this.nodes.length) throw new Error(`not running: ${this.nodes.filter((n) => !n.proc.running).map((n) => n.name).join(', ')}`);
        // Asynchronously: a drill's workload shares this event loop.
        const s = await Promise.all(running.map((n) => clusterStatusAsync(n.name, { epmdPort: 4369, netns: n.ns })));
        const leader = s[0].status?.leader;
        const ok = s.every((x) => x.ok && x.status.leader === leader && leader !== '' && x.status.members.length === this.nodes.length && x.status.members.every((m) => m.up));
        if (!ok) throw new Error(JSON.stringify(s.map((x) => x.status ?? x.error)));
        return s;
      },
      timeoutMs,
      250,
    );
  }

  status(i: number): StatusJson {
    const n = this.nodes[i];
    return clusterStatus(n.name, { epmdPort: 4369, netns: n.ns });
  }

  /** The node's OS pid (ip netns exec execs the server in place). */
  pid(i: number): number {
    const pid = this.nodes[i].proc.child?.pid;
    if (pid === undefined) throw new Error(`${this.nodes[i].name} was never started`);
    return pid;
  }

  /** kill -9, and wait for the exit. */
  async kill9(i: number): Promise<void> {
    await this.nodes[i].proc.kill('SIGKILL');
  }

  /** Starts the node again on its own data dir and waits until the cluster is formed again. */
  async restart(i: number, timeoutMs = 30_000): Promise<void> {
    const n = this.nodes[i];
    if (n.proc.running) throw new Error(`${n.name} is still running`);
    n.proc.start();
    await n.proc.waitListening(timeoutMs);
    await this.waitFormed(timeoutMs);
  }

  /** Takes node i's bridge port down (a partition: it loses the others and the test process) or brings it back. */
  setLink(i: number, up: boolean): void {
    this.network.setLink(i, up);
  }

  /** warrenctl against node i's own control socket (its data dir), inside its namespace. */
  ctl(i: number, args: string[]): CtlResult {
    const n = this.nodes[i];
    const r = spawnSync('ip', ['netns', 'exec', n.ns, execPath, WARRENCTL_JS, '-d', n.proc.dataDir, ...args], {
      env: { ...process.env, WARREN_CLUSTER_SECRET: SECRET, WARREN_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
  }

  /** `warrenctl list_queues COLUMNS` on node i, parsed: one object per queue. */
  listQueues(i: number, columns: string[], vhost = '/'): Record<string, unknown>[] {
    const r = this.ctl(i, ['--formatter', 'json', 'list_queues', '-p', vhost, ...columns]);
    if (r.code !== 0) throw new Error(`list_queues on ${this.nodes[i].name} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  }

  /**
   * Runs a program inside node i's namespace with WARREN_URL (this node) and WARREN_URLS (all nodes,
   * comma-separated) set; SIGKILLs it after timeoutMs. onLine sees each stdout line as it arrives.
   */
  run(i: number, cmd: string, args: string[], o: { timeoutMs: number; env?: Record<string, string>; onLine?: (line: string) => void }): Promise<RunResult> {
    const n = this.nodes[i];
    return new Promise((ok) => {
      const child = spawn('ip', ['netns', 'exec', n.ns, cmd, ...args], {
        env: { ...process.env, WARREN_URL: n.url, WARREN_URLS: this.nodes.map((x) => x.url).join(','), PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...o.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let pending = '';
      let timedOut = false;
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        if (!o.onLine) return;
        pending += d;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) o.onLine(line);
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, o.timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        ok({ code, stdout, stderr: timedOut ? `${stderr}\n(killed after ${o.timeoutMs} ms)` : stderr, timedOut });
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        ok({ code: -1, stdout, stderr: String(err), timedOut });
      });
    });
  }

  /** A python script of test/cluster/clients run with Debian's python3 (pika, kombu) inside node i's namespace. */
  python(i: number, script: string, args: string[], o: { timeoutMs: number; env?: Record<string, string>; onLine?: (line: string) => void }): Promise<RunResult> {
    return this.run(i, PYTHON, [resolve(CLIENTS_SRC, script), ...args], o);
  }

  /** A compiled node script of test/cluster/clients (amqplib) run inside node i's namespace. */
  nodeScript(i: number, script: string, args: string[], o: { timeoutMs: number; env?: Record<string, string>; onLine?: (line: string) => void }): Promise<RunResult> {
    return this.run(i, execPath, [resolve(CLIENTS_DIST, script), ...args], o);
  }

  /** The last output of every node (for failure messages). */
  logs(chars = 2000): string {
    return this.nodes.map((n) => `--- ${n.name}${n.proc.running ? '' : ' (not running)'}\n${n.proc.output.slice(-chars)}`).join('\n');
  }

  /** Kills every node, removes data dirs, namespaces, veths and the bridge. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.proc.destroy()));
    await sleep(10);
    this.network.down();
  }
}

/** The last JSON line a client script printed (its result). */
export function lastJson<T>(r: RunResult): T {
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  if (lines.length === 0) throw new Error(`no JSON result (exit ${r.code}${r.timedOut ? ', timed out' : ''}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return JSON.parse(lines[lines.length - 1]) as T;
}

// A three-node RabbitMQ cluster (Debian's rabbitmq-server, 3.10 on bookworm) in network
// namespaces, laid out as test/cluster/netns-cluster.ts lays out Warren's: one node per
// namespace with its own address and the standard ports (AMQP 5672, distribution 25672,
// epmd 4369 in each namespace), long node names rabbit@<address>, one Erlang cookie, every
// file (data, logs, config, cookie) in a temporary directory; the second and third nodes
// join the first with rabbitmqctl join_cluster. guest may connect from off the node (as the
// official docker image allows); otherwise RabbitMQ's defaults (extra emulator flags, e.g.
// '+sbwt none' against scheduler busy-waiting on shared CPUs, can be passed in).
// Root and rabbitmq-server (apt-get install -y rabbitmq-server) are required.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsNetwork } from '../../test/cluster/netns-network';

const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

export interface RabbitNode {
  index: number;
  ns: string;
  addr: string;
  name: string;
  url: string;
  dir: string;
  proc: ChildProcess | undefined;
  output: string;
}

/** Why a RabbitMQ cluster cannot run here, or undefined. */
export function rabbitmqUnavailableReason(): string | undefined {
  if (!existsSync(join(RABBIT_BIN, 'rabbitmq-server'))) return 'rabbitmq-server is not installed (apt-get install -y rabbitmq-server)';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  return undefined;
}

export class RabbitNetnsCluster {
  readonly network: NetnsNetwork;
  readonly nodes: RabbitNode[] = [];
  private readonly base: string;
  private readonly home: string;

  constructor(
    size = 3,
    prefix = 'wr',
    private readonly erlArgs = '',
  ) {
    this.network = new NetnsNetwork(size, prefix);
    this.base = mkdtempSync(join(tmpdir(), 'warren-rabbitmq-'));
    this.home = join(this.base, 'home');
    mkdirSync(this.home);
    const cookie = join(this.home, '.erlang.cookie');
    writeFileSync(cookie, `WARRENBENCH${process.pid}COOKIE`);
    chmodSync(cookie, 0o400);
    writeFileSync(join(this.base, 'rabbitmq.conf'), ['loopback_users = none', 'log.file.level = warning', 'log.console = false', ''].join('\n'));
    writeFileSync(join(this.base, 'enabled_plugins'), '[].\n');
    for (const h of this.network.hosts) {
      const dir = join(this.base, `n${h.index + 1}`);
      mkdirSync(dir);
      this.nodes.push({ ...h, name: `rabbit@${h.addr}`, url: `amqp://guest:guest@${h.addr}:5672`, dir, proc: undefined, output: '' });
    }
  }

  private env(n: RabbitNode): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.home,
      LANG: 'C.UTF-8',
      RABBITMQ_NODENAME: n.name,
      RABBITMQ_USE_LONGNAME: 'true',
      RABBITMQ_NODE_PORT: '5672',
      RABBITMQ_DIST_PORT: '25672',
      RABBITMQ_MNESIA_BASE: join(n.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(n.dir, 'log'),
      RABBITMQ_PID_FILE: join(n.dir, 'pid'),
      RABBITMQ_CONFIG_FILE: join(this.base, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(this.base, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.base, 'enabled_plugins'),
      RABBITMQ_CONF_ENV_FILE: join(this.base, 'rabbitmq-env.conf'),
      ...(this.erlArgs ? { RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: this.erlArgs } : {}),
    };
  }

  /** rabbitmqctl (or another CLI of RABBIT_BIN) against node i, inside its namespace. */
  ctl(i: number, args: string[], tool = 'rabbitmqctl', timeoutMs = 60_000): { code: number; out: string } {
    const n = this.nodes[i];
    const r = spawnSync('ip', ['netns', 'exec', n.ns, join(RABBIT_BIN, tool), '-n', n.name, '--longnames', ...args], {
      env: this.env(n),
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  }

  private mustCtl(i: number, args: string[]): string {
    const r = this.ctl(i, args);
    if (r.code !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} on ${this.nodes[i].name} failed (${r.code}): ${r.out}\n${this.nodes[i].output.slice(-2000)}`);
    return r.out;
  }

  /** Builds the network, starts every node, joins nodes 2.. to node 1, and waits until all run. */
  async start(): Promise<void> {
    this.network.up();
    for (const n of this.nodes) {
      const child = spawn('ip', ['netns', 'exec', n.ns, join(RABBIT_BIN, 'rabbitmq-server')], { env: this.env(n), stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (d: Buffer) => (n.output = (n.output + d.toString()).slice(-20_000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      n.proc = child;
    }
    // `wait` follows the pid file, so it also covers the start before the node registers with epmd.
    for (let i = 0; i < this.nodes.length; i++) this.mustCtl(i, ['wait', join(this.nodes[i].dir, 'pid'), '--timeout', '120']);
    for (let i = 1; i < this.nodes.length; i++) {
      this.mustCtl(i, ['stop_app']);
      this.mustCtl(i, ['join_cluster', this.nodes[0].name]);
      this.mustCtl(i, ['start_app']);
      this.mustCtl(i, ['await_startup', '--timeout', '120']);
    }
    const status = this.mustCtl(0, ['cluster_status', '--formatter', 'json']);
    const running = (JSON.parse(status) as { running_nodes: string[] }).running_nodes;
    if (running.length !== this.nodes.length) throw new Error(`RabbitMQ cluster did not form: running ${running.join(', ')}`);
  }

  /** The leader of quorum queue `queue` (vhost /), as node 1 reports it. */
  leaderOf(queue: string): string {
    const out = this.mustCtl(0, ['list_queues', '--formatter', 'json', 'name', 'leader']);
    const rows = JSON.parse(out) as { name: string; leader: string }[];
    return rows.find((r) => r.name === queue)?.leader ?? '';
  }

  /** Stops every node (kills what is left), removes the namespaces and the temporary directory. */
  async destroy(): Promise<void> {
    for (const n of this.nodes) {
      const child = n.proc;
      if (!child || child.exitCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    this.network.down(); // kills whatever still runs in the namespaces (beam, epmd)
    rmSync(this.base, { recursive: true, force: true });
  }
}

// RabbitMQ (Debian's rabbitmq-server, 3.10) on the drills' three-namespace layout, for the
// same drills side by side with Warren: one node per namespace (rabbit@<address>, long names,
// standard ports inside each namespace), a shared Erlang cookie, the cluster formed at boot
// by classic-config peer discovery. `DRILL_BROKER=rabbitmq node dist/bench/drills/run-drill.js …`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsCluster } from '../../test/cluster/netns-cluster';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const CTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';
const COOKIE = 'WARRENDRILLSRABBITCOOKIE';

interface RabbitNode {
  ns: string;
  addr: string;
  name: string;
  url: string;
  env: Record<string, string>;
  child: ChildProcess | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      ok(true);
    });
    s.once('error', () => ok(false));
  });
}

export class RabbitNetnsCluster {
  readonly net = new NetnsCluster();
  readonly nodes: RabbitNode[];
  private readonly base = mkdtempSync(join(tmpdir(), 'rabbit-drill-'));

  constructor() {
    const names = this.net.nodes.map((n) => `rabbit@${n.addr}`);
    this.nodes = this.net.nodes.map((n, i) => {
      const dir = join(this.base, `n${i + 1}`);
      const home = join(dir, 'home');
      mkdirSync(home, { recursive: true });
      writeFileSync(join(home, '.erlang.cookie'), COOKIE);
      chmodSync(join(home, '.erlang.cookie'), 0o400);
      writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
      writeFileSync(
        join(dir, 'rabbitmq.conf'),
        [
          'loopback_users = none',
          'cluster_formation.peer_discovery_backend = classic_config',
          ...names.map((m, k) => `cluster_formation.classic_config.nodes.${k + 1} = ${m}`),
          'cluster_formation.randomized_startup_delay_range.min = 0',
          'cluster_formation.randomized_startup_delay_range.max = 1',
        ].join('\n') + '\n',
      );
      writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: home,
        RABBITMQ_USE_LONGNAME: 'true',
        RABBITMQ_NODENAME: names[i],
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
        RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      };
      return { ns: n.ns, addr: n.addr, name: names[i], url: n.url, env, child: undefined };
    });
  }

  async start(): Promise<void> {
    this.net.buildNetwork();
    this.nodes.forEach((_, i) => this.spawn(i));
    await Promise.all(this.nodes.map((_, i) => this.waitUp(i)));
    await this.waitClustered();
  }

  private spawn(i: number): void {
    const n = this.nodes[i];
    n.child = spawn('ip', ['netns', 'exec', n.ns, SERVER], { env: n.env, stdio: 'ignore', detached: true });
  }

  /** Listening on 5672 and `rabbitmqctl await_startup` done. */
  async waitUp(i: number, timeoutMs = 120_000): Promise<void> {
    const n = this.nodes[i];
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect(n.addr, 5672))) {
      if (Date.now() > deadline) throw new Error(`${n.name} did not start`);
      await sleep(200);
    }
    await this.ctl(i, ['await_startup']);
  }

  private async waitClustered(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out = await this.ctl(0, ['cluster_status', '--formatter', 'json']).catch(() => '{}');
      const running = (JSON.parse(out || '{}') as { running_nodes?: string[] }).running_nodes ?? [];
      if (running.length === this.nodes.length) return;
      if (Date.now() > deadline) throw new Error(`RabbitMQ cluster did not form: ${out}`);
      await sleep(500);
    }
  }

  /** rabbitmqctl in node i's namespace, asynchronously (the drill's workload shares this event loop). */
  ctl(i: number, args: string[]): Promise<string> {
    const n = this.nodes[i];
    return new Promise((resolve, reject) => {
      const c = spawn('ip', ['netns', 'exec', n.ns, CTL, '-n', n.name, ...args], { env: n.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.stderr.on('data', (d: Buffer) => (err += d));
      c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`rabbitmqctl ${args.join(' ')}: ${code} ${err}`))));
    });
  }

  /** The node's Erlang VM (beam.smp) pid, found among its namespace's processes. */
  beamPid(i: number): number {
    const pids = spawnSync('ip', ['netns', 'pids', this.nodes[i].ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      const cmd = spawnSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).stdout.trim();
      if (cmd === 'beam.smp') return Number(pid);
    }
    throw new Error(`no beam.smp in ${this.nodes[i].ns}`);
  }

  kill9(i: number): void {
    process.kill(this.beamPid(i), 'SIGKILL');
  }

  /** rabbitmqctl stop (graceful), then the server started again and waited for. */
  async restart(i: number, mark: (what: string) => void): Promise<void> {
    await this.ctl(i, ['stop']).catch(() => this.kill9(i));
    mark(`n${i + 1} exited`);
    this.spawn(i);
    await this.waitUp(i);
  }

  setLink(i: number, up: boolean): void {
    this.net.setLink(i, up);
  }

  async destroy(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) {
      try {
        this.kill9(i);
      } catch {
        // not running
      }
    }
    // epmd and anything else still inside the namespaces goes with them.
    await this.net.destroy();
    rmSync(this.base, { recursive: true, force: true });
  }
}

// Network namespaces on one bridge, laid out as docker-compose lays out a cluster: each node
// in its own namespace with its own address (10.239.X.<i+1>/24) and eth0, the bridge holding
// 10.239.X.254 in the root namespace, so this process reaches every node directly and a
// partition is a bridge port taken down (tc and iptables do not work here).
//
// Names: every namespace, bridge and veth is <prefix><owner> + role + digit, where <owner> is
// the creating process's pid in base 36 (netns-cluster.ts names Warren's clusters the same
// way with `w9`; a process that runs two networks at once gives them different prefixes, as
// bench/drills/quorum-throughput.ts does for RabbitMQ's, `wr`). A run whose owner is gone left
// stale ones behind, and the next network of the same prefix deletes them (with the
// processes still inside) before it starts.
import { spawnSync } from 'node:child_process';

export interface NetnsHost {
  index: number;
  ns: string;
  addr: string;
}

function sh(cmd: string, args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: r.stderr ?? (r.error ? String(r.error) : '') };
}

function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  if (!r.ok) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.err.trim()}`);
  return r.out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Undefined when namespaces can be made here; otherwise why not (the suite skips with that text). */
export function netnsUnavailableReason(prefix = 'w9'): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  const probe = `${prefix}${process.pid.toString(36)}x0`;
  const r = sh('ip', ['netns', 'add', probe]);
  if (!r.ok) return `ip netns add is not permitted here: ${r.err.trim() || 'ip not found'}`;
  sh('ip', ['netns', 'del', probe]);
  return undefined;
}

/** Deletes namespaces, bridges and veths of `prefix` whose owning process is gone, killing what still runs inside. */
export function cleanupStale(prefix = 'w9'): void {
  const owners = new Set<string>();
  const nsRe = new RegExp(`^${prefix}([0-9a-z]+)[nx]\\d$`);
  const linkRe = new RegExp(`^${prefix}([0-9a-z]+)[bv]\\d$`);
  for (const line of sh('ip', ['netns', 'list']).out.split('\n')) {
    const m = nsRe.exec(line.split(' ')[0] ?? '');
    if (m) owners.add(m[1]);
  }
  for (const line of sh('ip', ['-o', 'link', 'show']).out.split('\n')) {
    const m = linkRe.exec(line.split(':')[1]?.trim().split('@')[0] ?? '');
    if (m) owners.add(m[1]);
  }
  for (const owner of owners) {
    const pid = parseInt(owner, 36);
    if (pid === process.pid || alive(pid)) continue;
    removeNetwork(prefix, owner);
  }
}

function removeNetwork(prefix: string, owner: string): void {
  for (const line of sh('ip', ['netns', 'list']).out.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(`${prefix}${owner}`) || !/[nx]\d$/.test(name)) continue;
    for (const pid of sh('ip', ['netns', 'pids', name]).out.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    sh('ip', ['netns', 'del', name]);
  }
  for (let i = 0; i < 10; i++) sh('ip', ['link', 'del', `${prefix}${owner}v${i}`]);
  sh('ip', ['link', 'del', `${prefix}${owner}b0`]);
}

/** A /24 under 10.239/16 that no interface here uses yet. */
function freeSubnet(): string {
  const used = new Set([...sh('ip', ['-4', '-o', 'addr', 'show']).out.matchAll(/inet 10\.239\.(\d+)\./g)].map((m) => Number(m[1])));
  for (let k = 0; k < 250; k++) {
    const third = (process.pid + k) % 250;
    if (!used.has(third)) return `10.239.${third}`;
  }
  throw new Error('no free 10.239.x.0/24 subnet');
}

export class NetnsNetwork {
  readonly owner = process.pid.toString(36);
  readonly subnet: string;
  readonly hosts: NetnsHost[] = [];
  private readonly bridge: string;
  private readonly onExit = () => removeNetwork(this.prefix, this.owner);

  /** Chooses names and a free subnet (nothing is built before up()). */
  constructor(
    readonly size: number,
    readonly prefix = 'w9',
  ) {
    cleanupStale(prefix);
    removeNetwork(prefix, this.owner); // a previous network of this same process
    this.subnet = freeSubnet();
    this.bridge = `${prefix}${this.owner}b0`;
    for (let i = 0; i < size; i++) this.hosts.push({ index: i, ns: `${prefix}${this.owner}n${i + 1}`, addr: `${this.subnet}.${i + 1}` });
  }

  /** Builds the bridge, the namespaces and their links. */
  up(): void {
    process.once('exit', this.onExit);
    must('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    must('ip', ['addr', 'add', `${this.subnet}.254/24`, 'dev', this.bridge]);
    must('ip', ['link', 'set', this.bridge, 'up']);
    for (const h of this.hosts) {
      const outside = `${this.prefix}${this.owner}v${h.index + 1}`;
      const inside = `${this.prefix}${this.owner}p${h.index + 1}`;
      must('ip', ['netns', 'add', h.ns]);
      must('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
      must('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      must('ip', ['link', 'set', inside, 'netns', h.ns]);
      must('ip', ['-n', h.ns, 'link', 'set', inside, 'name', 'eth0']);
      must('ip', ['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', 'eth0']);
      must('ip', ['-n', h.ns, 'link', 'set', 'eth0', 'up']);
      must('ip', ['link', 'set', outside, 'master', this.bridge]);
      must('ip', ['link', 'set', outside, 'up']);
    }
  }

  /** Takes host i's bridge port down (a partition: it loses the others and this process) or brings it back. */
  setLink(i: number, up: boolean): void {
    must('ip', ['link', 'set', `${this.prefix}${this.owner}v${i + 1}`, up ? 'up' : 'down']);
  }

  /** Removes namespaces (killing what runs inside), veths and the bridge. */
  down(): void {
    removeNetwork(this.prefix, this.owner);
    process.off('exit', this.onExit);
  }
}

/**
 * Membership requests between nodes, on the mesh:
 * - 'cluster.info'   → this node's view: members, leader, commit index.
 * - 'cluster.join'   {node}  → the leader adds `node` as a voter (a follower forwards it).
 * - 'cluster.remove' {node}  → the leader removes `node` (forget_cluster_node).
 * Payloads are JSON. A handler that cannot do the work throws; the caller sees the mesh's
 * REMOTE_ERROR with the message.
 */
import type { Raft } from '../raft';
import { MeshError, type Mesh } from '../mesh';

export interface ClusterInfo {
  node: string;
  /** Voters and non-voters of the configuration this node knows; empty: not in a cluster. */
  members: { id: string; suffrage: string }[];
  leader: string;
  state: string;
  term: number;
  commitIndex: number;
  appliedIndex: number;
}

export interface MembershipDeps {
  nodeName: string;
  mesh: Mesh;
  raft(): Raft<unknown> | undefined;
  /** Longest a membership change may take; default 10 000 ms. */
  timeoutMs?: number;
}

export function clusterInfo(deps: MembershipDeps): ClusterInfo {
  const raft = deps.raft();
  const stats = raft?.stats();
  return {
    node: deps.nodeName,
    members: (raft?.getConfiguration().servers ?? []).map((s) => ({ id: s.id, suffrage: s.suffrage })),
    leader: raft?.leader()?.id ?? '',
    state: raft?.state() ?? 'not-joined',
    term: stats?.term ?? 0,
    commitIndex: stats?.commitIndex ?? 0,
    appliedIndex: stats?.appliedIndex ?? 0,
  };
}

export interface MembershipRpc {
  /** Runs a join or remove for `node` on the leader (here, or forwarded); resolves with the leader's view. */
  call(channel: 'cluster.join' | 'cluster.remove', node: string): Promise<ClusterInfo>;
  unregister(): void;
}

/** Registers the three handlers. */
export function registerMembershipRpc(deps: MembershipDeps): MembershipRpc {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const join = async (raft: Raft<unknown>, node: string): Promise<Buffer> => {
    await raft.addVoter(node, node, timeoutMs);
    return json(clusterInfo(deps));
  };
  const remove = async (raft: Raft<unknown>, node: string): Promise<Buffer> => {
    if (node === deps.nodeName) throw new Error(`${node} is the leader; stop it (a new leader is elected) and forget it from another node`);
    if (deps.mesh.isUp(node)) throw new Error(`${node} is running; stop it before forgetting it`);
    if (!raft.getConfiguration().servers.some((s) => s.id === node)) throw new Error(`${node} is not a member of this cluster`);
    await raft.removeServer(node, timeoutMs);
    deps.mesh.disconnect(node);
    return json(clusterInfo(deps));
  };
  const offs = [
    deps.mesh.handle('cluster.info', () => json(clusterInfo(deps))),
    deps.mesh.handle('cluster.join', (_from, payload) => onLeader(deps, 'cluster.join', payload, timeoutMs, join)),
    deps.mesh.handle('cluster.remove', (_from, payload) => onLeader(deps, 'cluster.remove', payload, timeoutMs, remove)),
  ];
  return {
    async call(channel, node) {
      const payload = Buffer.from(JSON.stringify({ node }));
      const reply = await onLeader(deps, channel, payload, timeoutMs, channel === 'cluster.join' ? join : remove);
      return JSON.parse(reply.toString('utf8')) as ClusterInfo;
    },
    unregister: () => offs.forEach((off) => off()),
  };
}

/**
 * Runs `work` on the leader: here if this node leads, else forwarded to the leader. While
 * there is no leader, or the known one is down (an election is under way), it retries
 * for a few seconds before giving up.
 */
async function onLeader(
  deps: MembershipDeps,
  channel: string,
  payload: Buffer,
  timeoutMs: number,
  work: (raft: Raft<unknown>, node: string) => Promise<Buffer>,
): Promise<Buffer> {
  const { node } = JSON.parse(payload.toString('utf8')) as { node: string };
  if (typeof node !== 'string' || node === '') throw new Error('request needs a node name');
  const deadline = Date.now() + Math.min(timeoutMs, 5000);
  for (;;) {
    const raft = deps.raft();
    if (raft === undefined || raft.getConfiguration().servers.length === 0) throw new Error(`${deps.nodeName} is not in a cluster`);
    if (raft.state() === 'leader') return work(raft, node);
    const leader = raft.leader()?.id;
    let reason = `${deps.nodeName} knows no leader (no quorum?)`;
    if (leader && leader !== deps.nodeName && deps.mesh.isUp(leader)) {
      try {
        return await deps.mesh.request(leader, channel, payload, timeoutMs);
      } catch (err) {
        if (!(err instanceof MeshError) || err.code !== 'PEER_DOWN') throw err;
        reason = `leader ${leader} went down`;
      }
    } else if (leader && leader !== deps.nodeName) reason = `leader ${leader} is down`;
    if (Date.now() > deadline) throw new Error(reason);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

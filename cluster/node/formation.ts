/**
 * How a node with no Raft state (first start, or after reset) gets into a cluster.
 *
 * Every round (a few per second) it asks each reachable known peer for its cluster
 * view ('cluster.info'). If some peer is in a cluster, it asks that peer to add it
 * ('cluster.join', forwarded to the leader, which calls addVoter). If no reachable
 * peer is in a cluster, the node whose name sorts lowest among itself and its known
 * peers bootstraps a cluster of one, as soon as every known peer has answered that it
 * is not in a cluster, or after `bootstrapGraceMs` if some stay silent; the others then
 * join it. So nodes started together with the same static list form one cluster, and
 * a reset node rejoins its old cluster instead of starting a new one (as long as one
 * member is reachable).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Mesh } from '../mesh';
import { MeshError } from '../mesh';
import type { Logger } from '../../src/log/logger';
import type { ClusterInfo } from './membership-rpc';

export interface FormationDeps {
  nodeName: string;
  mesh: Mesh;
  /** Peers known now (discovered, or given to join_cluster); never includes this node. */
  peers(): string[];
  /** Creates Raft with the initial configuration {this node}. */
  bootstrap(): Promise<void>;
  /** Creates Raft with empty stores, ready to receive the leader's log. */
  prepareToJoin(): Promise<void>;
  /** True once this node's Raft holds a configuration (the leader has replicated to it). */
  joined(): boolean;
  log: Logger;
  bootstrapGraceMs?: number;
  roundMs?: number;
}

export type FormationResult = { how: 'bootstrapped' } | { how: 'joined'; via: string; leaderCommit: number };

export class Formation {
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(private readonly d: FormationDeps) {}

  stop(): void {
    this.stopped = true;
  }

  /** Runs until this node bootstrapped or joined; rejects only when stopped. */
  async run(): Promise<FormationResult> {
    const graceMs = this.d.bootstrapGraceMs ?? 3000;
    const roundMs = this.d.roundMs ?? 250;
    let lastWaitLog = 0;
    while (!this.stopped) {
      const peers = this.d.peers();
      for (const p of peers) if (!this.d.mesh.peers().some((x) => x.name === p)) this.safeConnect(p);
      const infos = await Promise.all(peers.map((p) => this.info(p)));
      const clustered = infos.filter((i): i is ClusterInfo => i !== undefined && i.members.length > 0);
      // Prefer a peer that knows a leader.
      clustered.sort((a, b) => Number(b.leader !== '') - Number(a.leader !== ''));
      for (const info of clustered) {
        const result = await this.tryJoin(info.node);
        if (result) return result;
      }
      if (clustered.length === 0) {
        const lowest = [this.d.nodeName, ...peers].sort()[0] === this.d.nodeName;
        const allAnswered = infos.every((i) => i !== undefined);
        if (lowest && (allAnswered || Date.now() - this.startedAt >= graceMs)) {
          this.d.log.info({ peers }, 'no peer is in a cluster; bootstrapping one');
          await this.d.bootstrap();
          return { how: 'bootstrapped' };
        }
        if (Date.now() - lastWaitLog > 10_000) {
          lastWaitLog = Date.now();
          this.d.log.info({ peers, answered: infos.filter((i) => i !== undefined).map((i) => i!.node) }, lowest ? 'waiting for peers before bootstrapping' : 'waiting for a peer to form the cluster');
        }
      }
      if (this.d.joined()) return { how: 'joined', via: 'leader', leaderCommit: 0 };
      await sleep(roundMs);
    }
    throw new Error('formation stopped');
  }

  /** Asks `peer` (or the leader behind it) to add this node; undefined if that failed for now. */
  async tryJoin(peer: string, timeoutMs = 10_000): Promise<FormationResult | undefined> {
    try {
      return await joinVia(this.d, peer, timeoutMs);
    } catch (err) {
      this.d.log.debug({ err, peer }, 'join attempt failed; retrying');
      return undefined;
    }
  }

  private async info(peer: string): Promise<ClusterInfo | undefined> {
    if (!this.d.mesh.isUp(peer)) return undefined;
    try {
      return JSON.parse((await this.d.mesh.request(peer, 'cluster.info', Buffer.alloc(0), 1000)).toString('utf8')) as ClusterInfo;
    } catch (err) {
      if (!(err instanceof MeshError)) this.d.log.debug({ err, peer }, 'cluster.info failed');
      return undefined;
    }
  }

  private safeConnect(peer: string): void {
    try {
      this.d.mesh.connect(peer);
    } catch (err) {
      this.d.log.debug({ err, peer }, 'cannot connect to peer');
    }
  }
}

/** Asks `peer` (or the leader behind it) to add this node; rejects with the reason it could not. */
export async function joinVia(d: Pick<FormationDeps, 'nodeName' | 'mesh' | 'prepareToJoin' | 'log'>, peer: string, timeoutMs: number): Promise<FormationResult> {
  await d.prepareToJoin();
  const reply = await d.mesh.request(peer, 'cluster.join', Buffer.from(JSON.stringify({ node: d.nodeName })), timeoutMs);
  const info = JSON.parse(reply.toString('utf8')) as ClusterInfo;
  d.log.info({ via: peer, leader: info.leader, members: info.members.map((m) => m.id) }, 'joined cluster');
  return { how: 'joined', via: peer, leaderCommit: info.commitIndex };
}

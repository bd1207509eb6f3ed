/**
 * The cluster's MetadataStore: every change is a Raft log entry applied by MetadataFsm on
 * every node. On the leader a change is proposed directly; a follower forwards it to the
 * leader over the mesh ('metadata.apply') and, before answering its client, waits until
 * its own model has applied it, so a declare-ok is always followed by a model that holds
 * the queue. Reads stay local. Without a leader reachable through a quorum (this node is
 * on the minority side of a partition, or the cluster lost its majority) apply() rejects
 * within `timeoutMs` with a channel error, never hangs.
 */
import { LeadershipLostError, NotLeaderError, RaftTimeoutError, type Raft } from '../raft';
import { MeshError, type Mesh } from '../mesh';
import type { Broker } from '../../src/broker/broker';
import { encodeCommand } from '../../src/broker/command-codec';
import type { CommandResult, DefinitionCommand } from '../../src/broker/definitions';
import { AmqpError, PreconditionFailed } from '../../src/broker/errors';
import type { MetadataStore } from '../../src/broker/ports';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import type { Logger } from '../../src/log/logger';
import { decodeForwardReply, encodeForwardReply, unwrapOutcome, type ApplyOutcome, type ForwardReply } from './apply-outcome';
import type { MetadataFsm } from './metadata-fsm';

export const METADATA_APPLY_CHANNEL = 'metadata.apply';
/** Answers once this node has applied the log up to an index. */
const METADATA_APPLIED_CHANNEL = 'metadata.applied';
/** Longest a change waits for the other running members to apply it. */
const OTHERS_APPLIED_WAIT_MS = 2000;

export interface RaftMetadataStoreOptions {
  nodeName: string;
  broker: Broker;
  mesh: Mesh;
  fsm: MetadataFsm;
  /** The node's Raft, or undefined while it has not joined a cluster yet. */
  raft: () => Raft<ApplyOutcome> | undefined;
  /** The home of a new queue (the queue leader locator); undefined = this node. */
  placeQueue?: (vhost: string, def: QueueDefinition) => Partial<QueueDefinition> | undefined;
  /** Longest a change may wait for a leader and a quorum; default 5000 ms. */
  timeoutMs?: number;
  log: Logger;
}

/** The error a client gets when the metadata cannot be changed: a channel error (406). */
export function metadataUnavailable(reason: string): AmqpError {
  return new PreconditionFailed(`metadata store unavailable: ${reason}`);
}

const NO_QUORUM = 'no Raft quorum (this node is in a minority, or the cluster has no leader)';

export class RaftMetadataStore implements MetadataStore {
  private readonly timeoutMs: number;
  private readonly unregister: () => void;
  private readonly unregisterApplied: () => void;

  constructor(private readonly o: RaftMetadataStoreOptions) {
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.unregister = o.mesh.handle(METADATA_APPLY_CHANNEL, async (_from, payload) => encodeForwardReply(await this.applyAsLeader(payload)));
    this.unregisterApplied = o.mesh.handle(METADATA_APPLIED_CHANNEL, async (_from, payload) => {
      await o.fsm.waitApplied(payload.readDoubleBE(0), OTHERS_APPLIED_WAIT_MS);
    });
  }

  /** Stops answering forwarded commands. */
  close(): void {
    this.unregister();
    this.unregisterApplied();
  }

  /**
   * Waits (briefly) until every other running member has applied the change too, so that a
   * client that declares on one node and publishes or consumes on another right after the
   * -ok finds the queue there and at its home, whichever node its next connection reaches.
   */
  private async othersApplied(index: number): Promise<void> {
    const members = this.o.raft()?.getConfiguration().servers ?? [];
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(index, 0);
    await Promise.all(
      members
        .filter((m) => m.id !== this.o.nodeName && this.o.mesh.isUp(m.id))
        .map((m) => this.o.mesh.request(m.id, METADATA_APPLIED_CHANNEL, bytes, OTHERS_APPLIED_WAIT_MS).catch(() => undefined)),
    );
  }

  async apply(command: DefinitionCommand): Promise<CommandResult> {
    const cmd = await this.prepare(command);
    const deadline = Date.now() + this.timeoutMs;
    const outcome = await this.propose(encodeCommand(cmd), deadline);
    const applied = await this.o.fsm.waitApplied(outcome.index, Math.max(deadline - Date.now(), 1000));
    if (!applied) throw metadataUnavailable(`the change was committed (index ${outcome.index}) but this node has not applied it yet`);
    const result = unwrapOutcome(outcome);
    await this.othersApplied(outcome.index);
    return result;
  }

  /**
   * Fills in what only the proposing node knows: the owner of a declared queue, and the
   * if-unused / if-empty checks of queue.delete (consumers and messages are this node's,
   * so the model on other nodes cannot judge them; the replicated delete is unconditional).
   */
  private async prepare(cmd: DefinitionCommand): Promise<DefinitionCommand> {
    if (cmd.op === 'queue.declare' && cmd.queue.ownerNode === undefined) {
      const exists = this.o.broker.vhost(cmd.vhost)?.queues.has(cmd.queue.name) ?? false;
      const placed = exists ? undefined : this.o.placeQueue?.(cmd.vhost, cmd.queue);
      return { ...cmd, queue: { ...cmd.queue, ownerNode: this.o.nodeName, ...placed } };
    }
    if (cmd.op === 'queue.delete' && (cmd.ifUnused || cmd.ifEmpty)) {
      const q = this.o.broker.vhost(cmd.vhost)?.queues.get(cmd.name);
      if (q) {
        q.checkAvailable();
        const counts = await q.counts();
        if (cmd.ifUnused && counts.consumerCount > 0) throw new PreconditionFailed(`queue '${cmd.name}' in vhost '${cmd.vhost}' in use`);
        if (cmd.ifEmpty && counts.messageCount > 0) throw new PreconditionFailed(`queue '${cmd.name}' in vhost '${cmd.vhost}' not empty`);
      }
      return { ...cmd, ifUnused: false, ifEmpty: false };
    }
    return cmd;
  }

  private async propose(bytes: Buffer, deadline: number): Promise<ApplyOutcome> {
    let reason = NO_QUORUM;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw metadataUnavailable(reason);
      const raft = this.o.raft();
      if (raft === undefined) {
        reason = 'this node has not joined a cluster yet';
      } else if (raft.state() === 'leader') {
        const reply = await this.proposeHere(raft, bytes, remaining);
        if ('ok' in reply) return reply.ok;
        if ('failed' in reply) throw metadataUnavailable(reply.failed);
      } else {
        const leader = raft.leader()?.id;
        if (leader && leader !== this.o.nodeName && this.o.mesh.isUp(leader)) {
          let reply: ForwardReply | undefined;
          try {
            reply = decodeForwardReply(await this.o.mesh.request(leader, METADATA_APPLY_CHANNEL, bytes, remaining));
          } catch (err) {
            if (err instanceof MeshError && err.code === 'PEER_DOWN') reason = `${NO_QUORUM}; leader ${leader} went down`;
            else throw metadataUnavailable(`${NO_QUORUM}; forwarding to leader ${leader} failed: ${(err as Error).message}`);
          }
          if (reply && 'ok' in reply) return reply.ok;
          if (reply && 'failed' in reply) throw metadataUnavailable(reply.failed);
        }
      }
      await sleep(Math.min(100, Math.max(deadline - Date.now(), 0)));
    }
  }

  /** Proposes on this node if it leads; the handler of forwarded commands. */
  private async applyAsLeader(bytes: Buffer): Promise<ForwardReply> {
    const raft = this.o.raft();
    if (raft === undefined || raft.state() !== 'leader') return { retry: 'not the leader', leader: raft?.leader()?.id };
    return this.proposeHere(raft, bytes, this.timeoutMs);
  }

  private async proposeHere(raft: Raft<ApplyOutcome>, bytes: Buffer, timeoutMs: number): Promise<ForwardReply> {
    try {
      return { ok: await raft.apply(bytes, timeoutMs) };
    } catch (err) {
      if (err instanceof NotLeaderError) return { retry: err.message, leader: err.leaderId };
      if (err instanceof LeadershipLostError || err instanceof RaftTimeoutError) {
        return { failed: `${NO_QUORUM}; the change may or may not have been applied (${err.message})` };
      }
      return { failed: `raft: ${(err as Error).message}` };
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Raft transports of every quorum queue group on this node, multiplexed over one mesh
 * channel ('qq'): each frame is the group id (shortstr) followed by the encoded Raft
 * message. A frame for a group this node does not run (yet) is dropped: Raft retries.
 */
import { decodeMessage, encodeMessage, type RaftMessage, type Transport } from '../raft';
import type { Mesh } from '../mesh';
import type { Logger } from '../../src/log/logger';

export const QUORUM_CHANNEL = 'qq';
/** Requests for message bodies (a member installing a snapshot): group id, then an id list. */
export const BODIES_CHANNEL = 'qq.bod';
const BODIES_TIMEOUT_MS = 10_000;

export class QuorumTransports {
  private readonly groups = new Map<string, GroupTransport>();
  private readonly off: () => void;
  private readonly offBodies: () => void;

  constructor(
    private readonly mesh: Mesh,
    private readonly log: Logger,
  ) {
    this.off = mesh.handle(QUORUM_CHANNEL, (from, payload) => this.receive(from, payload));
    this.offBodies = mesh.handle(BODIES_CHANNEL, (_from, payload) => this.serveBodies(payload));
  }

  /** The transport of one group; closed with the group. */
  open(groupId: string): GroupTransport {
    const t = new GroupTransport(groupId, this.mesh, () => this.groups.delete(groupId));
    this.groups.set(groupId, t);
    return t;
  }

  close(): void {
    this.off();
    this.offBodies();
  }

  private serveBodies(payload: Buffer): Buffer {
    const len = payload[0];
    const t = this.groups.get(payload.subarray(1, 1 + len).toString('utf8'));
    if (!t?.bodies) throw new Error('no such quorum queue member here');
    return t.bodies(payload.subarray(1 + len));
  }

  private receive(from: string, payload: Buffer): void {
    if (payload.length < 1) return;
    const len = payload[0];
    const groupId = payload.subarray(1, 1 + len).toString('utf8');
    const t = this.groups.get(groupId);
    if (!t || !t.handler) return;
    let msg: RaftMessage;
    try {
      msg = decodeMessage(payload.subarray(1 + len));
    } catch (err) {
      this.log.warn({ err, from, groupId }, 'undecodable quorum raft message dropped');
      return;
    }
    t.handler(msg);
  }
}

export class GroupTransport implements Transport {
  handler: ((msg: RaftMessage) => void) | undefined;
  /** Answers another member's request for bodies (encoded id list in, answer out). */
  bodies: ((request: Buffer) => Buffer) | undefined;
  private readonly prefix: Buffer;
  private closed = false;

  constructor(
    readonly groupId: string,
    private readonly mesh: Mesh,
    private readonly onClose: () => void,
  ) {
    const id = Buffer.from(groupId, 'utf8');
    if (id.length > 255) throw new Error(`quorum group id too long: ${groupId}`);
    this.prefix = Buffer.concat([Buffer.from([id.length]), id]);
  }

  send(to: string, msg: RaftMessage): void {
    if (this.closed || !this.mesh.isUp(to)) return;
    try {
      this.mesh.send(to, QUORUM_CHANNEL, encodeMessage(msg, this.prefix));
    } catch {
      // Best effort: Raft resends.
    }
  }

  /** Asks member `to` for bodies (see body-fetch.ts). */
  requestBodies(to: string, request: Buffer): Promise<Buffer> {
    return this.mesh.request(to, BODIES_CHANNEL, Buffer.concat([this.prefix, request]), BODIES_TIMEOUT_MS);
  }

  onMessage(handler: (msg: RaftMessage) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = undefined;
    this.bodies = undefined;
    this.onClose();
  }
}

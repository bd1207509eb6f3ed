/**
 * Raft's Transport over the inter-node mesh, on channel 'raft'. A server's id is its node
 * name, which the mesh resolves through the port mapper, so the configuration's address
 * is not needed. Messages to a peer that is not up are dropped (Raft retries on its next
 * heartbeat) instead of piling up in the mesh's queue for a dead node.
 */
import { decodeMessage, encodeMessage, type RaftMessage, type Transport } from '../raft';
import type { Mesh } from '../mesh';
import type { Logger } from '../../src/log/logger';

export const RAFT_CHANNEL = 'raft';

export class RaftMeshTransport implements Transport {
  private handler: ((msg: RaftMessage) => void) | undefined;
  private readonly unregister: () => void;
  private closed = false;
  private failures = 0;

  constructor(
    private readonly mesh: Mesh,
    private readonly log: Logger,
  ) {
    this.unregister = mesh.handle(RAFT_CHANNEL, (from, payload) => {
      if (this.closed || this.handler === undefined) return;
      let msg: RaftMessage;
      try {
        msg = decodeMessage(payload);
      } catch (err) {
        this.log.warn({ err, from }, 'undecodable raft message dropped');
        return;
      }
      this.handler(msg);
    });
  }

  send(to: string, msg: RaftMessage): void {
    if (this.closed) return;
    try {
      if (!this.mesh.isUp(to)) {
        // Dial it (idempotent while a dial is under way); this message is lost.
        if (!this.mesh.peers().some((p) => p.name === to)) this.mesh.connect(to);
        return;
      }
      this.mesh.send(to, RAFT_CHANNEL, encodeMessage(msg));
    } catch (err) {
      if (this.failures++ % 1000 === 0) this.log.debug({ err, to }, 'raft message not sent');
    }
  }

  onMessage(handler: (msg: RaftMessage) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unregister();
  }
}

import type { RaftMessage } from '../../../cluster/raft/messages';
import type { Transport } from '../../../cluster/raft/transport';
import { decodeMessage, encodeMessage } from '../../../cluster/raft/message-codec';

type Handler = (msg: RaftMessage) => void;

/**
 * The simulated network: every message sent waits in `inFlight` until the simulation
 * delivers it (in any order), drops it or duplicates it. Partitions are a set of blocked
 * directions, so a cut can be symmetric or one-way; a blocked message is lost when the
 * simulation tries to deliver it.
 */
export class SimNetwork {
  inFlight: RaftMessage[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly blocked = new Set<string>();
  /** Symmetric partition groups in force (empty when none or only one-way cuts). */
  groups: string[][] = [];
  delivered = 0;

  transport(id: string): SimTransport {
    return new SimTransport(id, this);
  }

  register(id: string, handler: Handler): void {
    this.handlers.set(id, handler);
  }

  unregister(id: string, handler: Handler | undefined): void {
    if (handler && this.handlers.get(id) === handler) this.handlers.delete(id);
  }

  send(msg: RaftMessage): void {
    this.inFlight.push(msg);
  }

  /** Drops every message addressed to `id` (its server crashed: sockets are gone). */
  forget(id: string): void {
    this.inFlight = this.inFlight.filter((m) => m.to !== id && m.from !== id);
  }

  partition(groups: string[][]): void {
    this.blocked.clear();
    this.groups = groups;
    for (const ga of groups) for (const gb of groups) if (ga !== gb) for (const a of ga) for (const b of gb) this.blocked.add(`${a}|${b}`);
  }

  /** Messages from `from` to `to` are lost from now on (the other direction still works). */
  blockOneWay(from: string, to: string): void {
    this.blocked.add(`${from}|${to}`);
    this.groups = [];
  }

  heal(): void {
    this.blocked.clear();
    this.groups = [];
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(`${from}|${to}`);
  }

  /**
   * Takes message `i` out of flight and hands it to its target unless blocked or the
   * target is down; `viaCodec` passes it through the wire codec first.
   */
  deliver(i: number, viaCodec: boolean): boolean {
    const [m] = this.inFlight.splice(i, 1);
    if (!m || this.blocked.has(`${m.from}|${m.to}`)) return false;
    const h = this.handlers.get(m.to);
    if (!h) return false;
    this.delivered++;
    h(viaCodec ? decodeMessage(encodeMessage(m)) : m);
    return true;
  }
}

/** One Raft server's endpoint; a crashed server's transport is closed and hears nothing. */
export class SimTransport implements Transport {
  private closed = false;
  private handler: Handler | undefined;

  constructor(readonly localId: string, private readonly network: SimNetwork) {}

  send(_to: string, msg: RaftMessage): void {
    if (!this.closed) this.network.send(msg);
  }

  onMessage(handler: Handler): void {
    this.handler = (m) => {
      if (!this.closed) handler(m);
    };
    this.network.register(this.localId, this.handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.unregister(this.localId, this.handler);
  }
}

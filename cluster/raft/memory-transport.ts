import type { RaftMessage } from './messages';
import type { Transport } from './transport';
import type { ServerId } from './types';
import { decodeMessage, encodeMessage } from './message-codec';

/**
 * A hub connecting in-process transports, with partition() and heal() for tests.
 * Delivery is asynchronous (setImmediate) and goes through the binary codec, so
 * handlers never share objects with senders.
 */
export class MemoryNetwork {
  private readonly handlers = new Map<ServerId, (msg: RaftMessage) => void>();
  private readonly groupOf = new Map<ServerId, number>();
  private readonly down = new Set<ServerId>();

  transport(id: ServerId): MemoryTransport {
    return new MemoryTransport(id, this);
  }

  register(id: ServerId, handler: (msg: RaftMessage) => void): void {
    this.handlers.set(id, handler);
    this.down.delete(id);
  }

  unregister(id: ServerId): void {
    this.handlers.delete(id);
  }

  /** Servers in different groups cannot exchange messages; unlisted servers form one more group. */
  partition(groups: ServerId[][]): void {
    this.groupOf.clear();
    groups.forEach((g, i) => g.forEach((id) => this.groupOf.set(id, i)));
  }

  heal(): void {
    this.groupOf.clear();
  }

  deliver(from: ServerId, to: ServerId, msg: RaftMessage): void {
    if ((this.groupOf.get(from) ?? -1) !== (this.groupOf.get(to) ?? -1)) return;
    const bytes = encodeMessage(msg);
    setImmediate(() => {
      if ((this.groupOf.get(from) ?? -1) !== (this.groupOf.get(to) ?? -1)) return;
      this.handlers.get(to)?.(decodeMessage(bytes));
    });
  }
}

/** One server's endpoint on a MemoryNetwork. */
export class MemoryTransport implements Transport {
  private closed = false;

  constructor(readonly localId: ServerId, private readonly network: MemoryNetwork) {}

  send(to: ServerId, msg: RaftMessage): void {
    if (!this.closed) this.network.deliver(this.localId, to, msg);
  }

  onMessage(handler: (msg: RaftMessage) => void): void {
    this.network.register(this.localId, (m) => {
      if (!this.closed) handler(m);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.unregister(this.localId);
  }
}

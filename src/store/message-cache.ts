/**
 * A bounded least-recently-used cache of message bytes, keyed by message id. It holds
 * references to buffers it is given (no copies); its bound counts their lengths.
 */
import type { MessageId, StoredMessage } from './message-store';

export class MessageCache {
  private readonly entries = new Map<MessageId, StoredMessage>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  get(id: MessageId): StoredMessage | undefined {
    const found = this.entries.get(id);
    if (found !== undefined) {
      // Move to the most-recent end.
      this.entries.delete(id);
      this.entries.set(id, found);
    }
    return found;
  }

  set(id: MessageId, message: StoredMessage): void {
    const size = messageBytes(message);
    if (size > this.maxBytes) return;
    this.delete(id);
    this.entries.set(id, message);
    this.bytes += size;
    if (this.bytes > this.maxBytes) this.evict();
  }

  delete(id: MessageId): void {
    const found = this.entries.get(id);
    if (found === undefined) return;
    this.entries.delete(id);
    this.bytes -= messageBytes(found);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private evict(): void {
    for (const [id, message] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= messageBytes(message);
    }
  }
}

function messageBytes(m: StoredMessage): number {
  return m.routing.length + m.properties.length + m.body.length;
}

/**
 * A quorum queue's replicated state, applied from its Raft log on every member: the
 * messages not yet settled, by id (ids are assigned in log order, so every member agrees),
 * each with its delivery count (failed deliveries so far). Which consumer holds which
 * message is not replicated: the leader's live queue knows it, and a new leader treats
 * every message it inherits as ready (redelivered).
 */
import type { FSM, LogEntry } from '../raft';
import { ByteReader } from '../../src/protocol/byte-reader';
import { ByteWriter } from '../../src/protocol/byte-writer';
import type { Message } from '../../src/broker/message';
import { CMD_ENQUEUE, CMD_RETURN, CMD_SETTLE, decodeCommand, readMessage, writeMessage } from './quorum-codec';

export interface StoredMessage {
  readonly message: Message;
  deliveryCount: number;
}

/** Told of each message the log adds (the leader mirrors them into its live queue). */
export type EnqueueListener = (id: number, message: Message) => void;

export class QuorumFsm implements FSM<void> {
  nextId = 1;
  readonly messages = new Map<number, StoredMessage>();
  bytes = 0;
  listener: EnqueueListener | undefined;
  /** Told of each enqueue batch applied (its proposer settles the confirms waiting on it). */
  batchApplied: ((batchId: number) => void) | undefined;

  apply(entry: LogEntry): void {
    const c = decodeCommand(entry.data);
    if (c.cmd === CMD_ENQUEUE) {
      for (const message of c.messages) {
        const id = this.nextId++;
        this.messages.set(id, { message, deliveryCount: 0 });
        this.bytes += message.body.length;
        this.listener?.(id, message);
      }
      this.batchApplied?.(c.batchId);
      return;
    }
    for (const id of c.ids) {
      const m = this.messages.get(id);
      if (!m) continue;
      if (c.cmd === CMD_RETURN) m.deliveryCount++;
      else if (c.cmd === CMD_SETTLE) {
        this.messages.delete(id);
        this.bytes -= m.message.body.length;
      }
    }
  }

  snapshot(): Buffer {
    const w = new ByteWriter(64 * 1024 + this.bytes + this.messages.size * 64);
    w.u64(this.nextId);
    w.u32(this.messages.size);
    for (const [id, m] of this.messages) {
      w.u64(id);
      w.u32(m.deliveryCount);
      writeMessage(w, m.message);
    }
    return w.take();
  }

  restore(data: Buffer): void {
    const r = new ByteReader(data, 0, data.length);
    this.messages.clear();
    this.bytes = 0;
    this.nextId = r.u64();
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const id = r.u64();
      const deliveryCount = r.u32();
      const message = readMessage(r);
      this.messages.set(id, { message, deliveryCount });
      this.bytes += message.body.length;
    }
  }
}

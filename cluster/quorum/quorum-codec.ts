/**
 * The commands of a quorum queue's Raft log, and the messages inside them. One enqueue
 * command carries every message the leader took in one event-loop turn, so a burst of
 * publishes costs one log entry and one fsync round.
 */
import { ByteReader } from '../../src/protocol/byte-reader';
import { ByteWriter } from '../../src/protocol/byte-writer';
import { Message } from '../../src/broker/message';
import type { DeathReason } from '../../src/broker/queue/dead-letter';

export const CMD_ENQUEUE = 1;
/** Messages left the queue for good (acked, rejected, expired, dropped, purged). */
export const CMD_SETTLE = 2;
/** Messages went back to the queue after a failed delivery: their delivery count grows. */
export const CMD_RETURN = 3;
/**
 * Messages were dead-lettered at least once: they stay (out of the ready queue) until the
 * dead-letter targets confirmed them, then a SETTLE removes them. Carries the reason.
 */
export const CMD_DEAD = 4;

/** Death reasons as CMD_DEAD carries them (index + 1). */
export const DEATH_REASONS: readonly DeathReason[] = ['rejected', 'expired', 'maxlen', 'delivery_limit'];

const writer = new ByteWriter(64 * 1024);

export function writeMessage(w: ByteWriter, m: Message): void {
  w.shortstr(m.exchange);
  w.shortstr(m.routingKey);
  w.longstr(m.rawProperties);
  w.longstr(m.body);
}

export function readMessage(r: ByteReader): Message {
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  const properties = Buffer.from(r.longstr());
  const body = Buffer.from(r.longstr());
  return new Message(exchange, routingKey, properties, body);
}

/** `batchId` tells the proposer, on whichever member it is then, that its batch was applied. */
export function encodeEnqueue(batchId: number, messages: readonly Message[]): Buffer {
  const w = writer;
  w.reset();
  w.u8(CMD_ENQUEUE);
  w.u64(batchId);
  w.u32(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.take();
}

/** SETTLE or RETURN of message ids. */
export function encodeIds(cmd: number, ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(5 + ids.length * 8);
  out[0] = cmd;
  out.writeUInt32BE(ids.length, 1);
  let at = 5;
  for (const id of ids) {
    out.writeDoubleBE(id, at);
    at += 8;
  }
  return out;
}

/** CMD_DEAD of message ids, all for `reason`. */
export function encodeDead(reason: DeathReason, ids: readonly number[]): Buffer {
  const body = encodeIds(CMD_DEAD, ids);
  return Buffer.concat([body.subarray(0, 1), Buffer.from([DEATH_REASONS.indexOf(reason) + 1]), body.subarray(1)]);
}

export type QuorumCommand =
  | { cmd: typeof CMD_ENQUEUE; batchId: number; messages: Message[] }
  | { cmd: typeof CMD_SETTLE | typeof CMD_RETURN; ids: number[] }
  | { cmd: typeof CMD_DEAD; reason: number; ids: number[] };

export function decodeCommand(data: Buffer): QuorumCommand {
  const cmd = data[0];
  if (cmd === CMD_ENQUEUE) {
    const r = new ByteReader(data, 1, data.length);
    const batchId = r.u64();
    const n = r.u32();
    const messages: Message[] = [];
    for (let i = 0; i < n; i++) messages.push(readMessage(r));
    return { cmd, batchId, messages };
  }
  if (cmd === CMD_SETTLE || cmd === CMD_RETURN) {
    const n = data.readUInt32BE(1);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(data.readDoubleBE(5 + i * 8));
    return { cmd, ids };
  }
  if (cmd === CMD_DEAD) {
    const n = data.readUInt32BE(2);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(data.readDoubleBE(6 + i * 8));
    return { cmd, reason: data[1], ids };
  }
  throw new Error(`unknown quorum queue command ${cmd}`);
}

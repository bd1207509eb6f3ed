/**
 * The commands of a quorum queue's Raft log, and the messages inside them. One enqueue
 * command carries every message the leader took in one event-loop turn, so a burst of
 * publishes costs one log entry and one fsync round.
 */
import { ByteReader } from '../../src/protocol/byte-reader';
import { ByteWriter } from '../../src/protocol/byte-writer';
import { floorAt, floorDistance, Message, type EnqueueOrigin } from '../../src/broker/message';
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
/**
 * Messages handed to consumers by the leader: for each consumer (its node and that node's
 * consumer id, which survives the consumer's re-attachment to a new leader) the ids it now
 * holds. A settle or return ends the holding.
 */
export const CMD_CHECKOUT = 5;
/** CMD_ENQUEUE with the leader's clock (ms since the epoch) when it took the batch: TTL counts from there on any leader. */
export const CMD_ENQUEUE_AT = 6;

/**
 * An enqueue batch whose messages carry their origin (EnqueueOrigin; publishes forwarded
 * from another node): the state machine adds a message sent again after a leader change
 * only once. Written only when some message has an origin; CMD_ENQUEUE otherwise.
 */
export const CMD_ENQUEUE_FROM = 8;

/**
 * Several commands in one entry: u32 count, then each earlier command as (u32 length,
 * bytes), then the last command (usually an enqueue) to the end of the entry. The leader
 * holds the settles, checkouts, returns and dead-letter marks of a few turns and proposes
 * them with the next enqueue batch: one entry, one append and one durable write per batch.
 * Applied as its commands one after the other.
 */
export const CMD_WITH = 12;

/** Death reasons as CMD_DEAD carries them (index + 1). */
export const DEATH_REASONS: readonly DeathReason[] = ['rejected', 'expired', 'maxlen', 'delivery_limit'];

const writer = new ByteWriter(64 * 1024);

/** Exchange and routing key (two shortstrs, as the message's routingBytes), properties, body. */
export function writeMessage(w: ByteWriter, m: Message): void {
  w.bytes(m.routingBytes);
  w.longstr(m.rawProperties);
  w.longstr(m.body);
}

/** The bytes a message takes in an entry (writeMessage). */
function messageBytes(m: Message): number {
  return m.routingBytes.length + 8 + m.rawProperties.length + m.body.length;
}

/**
 * The routing and properties of the message read last: a batch's messages mostly share
 * them, and then share the strings and buffers (immutable) instead of each a copy.
 */
let lastRouting: { bytes: Buffer; exchange: string; routingKey: string } | undefined;
let lastProperties: Buffer | undefined;

/** Reads what writeMessage wrote; the body is copied (the entry is not kept alive by it). */
export function readMessage(r: ByteReader): Message {
  const buf = r.buf;
  const start = r.pos;
  const routingEnd = start + 2 + buf[start] + (buf[start + 1 + buf[start]] ?? 0);
  let routing = lastRouting;
  if (routingEnd <= r.end && routing && routing.bytes.length === routingEnd - start && routing.bytes.compare(buf, start, routingEnd) === 0) r.pos = routingEnd;
  else {
    const exchange = r.shortstr();
    const routingKey = r.shortstr();
    routing = lastRouting = { bytes: Buffer.from(buf.subarray(start, r.pos)), exchange, routingKey };
  }
  const p = r.longstr();
  let properties = lastProperties;
  if (!properties || properties.length !== p.length || properties.compare(p) !== 0) properties = lastProperties = Buffer.from(p);
  const body = Buffer.from(r.longstr());
  return new Message(routing.exchange, routing.routingKey, properties, body, routing.bytes);
}

/** A writer of exactly `bytes`: the entry is its buffer, not a copy of a shared one. */
function writerFor(bytes: number): ByteWriter {
  return new ByteWriter(bytes);
}

/** The entry written: the writer's buffer itself when it is exactly full. */
function taken(w: ByteWriter): Buffer {
  return w.pos === w.buf.length ? w.buf : w.take();
}

/** Bytes of the CMD_WITH header and the commands `before` (0 when none). */
function beforeBytes(before: readonly Buffer[] | undefined): number {
  if (!before || before.length === 0) return 0;
  let bytes = 5;
  for (const b of before) bytes += 4 + b.length;
  return bytes;
}

/**
 * `batchId` tells the proposer, on whichever member it is then, that its batch was applied;
 * `atMs` is when the leader took it (CMD_ENQUEUE_AT; undefined writes the older CMD_ENQUEUE).
 */
export function encodeEnqueue(batchId: number, messages: readonly Message[], atMs?: number, before?: readonly Buffer[]): Buffer {
  let bytes = beforeBytes(before) + 1 + 8 + (atMs === undefined ? 0 : 8) + 4;
  for (const m of messages) bytes += messageBytes(m);
  const w = writerFor(bytes);
  writeBefore(w, before);
  w.u8(atMs === undefined ? CMD_ENQUEUE : CMD_ENQUEUE_AT);
  w.u64(batchId);
  if (atMs !== undefined) w.u64(atMs);
  w.u32(messages.length);
  for (const m of messages) writeMessage(w, m);
  return taken(w);
}

/**
 * CMD_ENQUEUE_FROM: as CMD_ENQUEUE_AT (batch id, the leader's clock), then per message a
 * flag, then with an origin its enqueuer (u64), number (u64) and the distance down to its
 * floor (u32, see floorDistance). Decoded as CMD_ENQUEUE with `origins`.
 */
export function encodeEnqueueFrom(batchId: number, messages: readonly Message[], origins: readonly (EnqueueOrigin | undefined)[], atMs: number, before?: readonly Buffer[]): Buffer {
  let bytes = beforeBytes(before) + 1 + 8 + 8 + 4;
  for (let i = 0; i < messages.length; i++) bytes += (origins[i] ? 21 : 1) + messageBytes(messages[i]);
  const w = writerFor(bytes);
  writeBefore(w, before);
  w.u8(CMD_ENQUEUE_FROM);
  w.u64(batchId);
  w.u64(atMs);
  w.u32(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const o = origins[i];
    if (o) {
      w.u8(1);
      w.u64(o.enqueuer);
      w.u64(o.seq);
      w.u32(floorDistance(o));
    } else w.u8(0);
    writeMessage(w, messages[i]);
  }
  return taken(w);
}

/** The CMD_WITH header and commands `before` the one written next (nothing when none). */
function writeBefore(w: ByteWriter, before: readonly Buffer[] | undefined): void {
  if (!before || before.length === 0) return;
  w.ensure(beforeBytes(before));
  w.u8(CMD_WITH);
  w.u32(before.length);
  for (const b of before) {
    w.u32(b.length);
    w.bytes(b);
  }
}

/** Commands `first` then `last` as one CMD_WITH entry (`last` alone when `first` is empty). */
export function encodeWith(first: readonly Buffer[], last: Buffer): Buffer {
  if (first.length === 0) return last;
  const w = writerFor(beforeBytes(first) + last.length);
  writeBefore(w, first);
  w.bytes(last);
  return taken(w);
}

/**
 * The commands of a CMD_WITH entry in order (subarrays of `data`); any other entry is its
 * own only command.
 */
export function splitWith(data: Buffer): Buffer[] {
  if (data[0] !== CMD_WITH) return [data];
  const n = data.readUInt32BE(1);
  const out: Buffer[] = [];
  let at = 5;
  for (let i = 0; i < n; i++) {
    const len = data.readUInt32BE(at);
    out.push(data.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  out.push(data.subarray(at));
  return out;
}

/** The head of an enqueue command (CMD_ENQUEUE, _AT or _FROM), without its messages; undefined for any other command. */
export function peekEnqueue(data: Buffer): { batchId: number; atMs: number; count: number } | undefined {
  const cmd = data[0];
  if (cmd !== CMD_ENQUEUE && cmd !== CMD_ENQUEUE_AT && cmd !== CMD_ENQUEUE_FROM) return undefined;
  const r = new ByteReader(data, 1, data.length);
  const batchId = r.u64();
  const atMs = cmd === CMD_ENQUEUE ? 0 : r.u64();
  return { batchId, atMs, count: r.u32() };
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

/** CMD_CHECKOUT: per consumer key ("node/consumerId", see ownerKey), the ids it took. */
export function encodeCheckout(byOwner: ReadonlyMap<string, readonly number[]>): Buffer {
  const w = writer;
  w.reset();
  w.u8(CMD_CHECKOUT);
  writeOwnedIds(w, byOwner);
  return w.take();
}

/** Ids by holder, as a checkout entry and a snapshot's ownership section both carry them. */
export function writeOwnedIds(w: ByteWriter, byOwner: ReadonlyMap<string, readonly number[]>): void {
  w.u32(byOwner.size);
  for (const [owner, ids] of byOwner) {
    const slash = owner.lastIndexOf('/');
    w.shortstr(owner.slice(0, slash));
    w.u32(Number(owner.slice(slash + 1)));
    w.u32(ids.length);
    for (const id of ids) w.u64(id);
  }
}

/** Reads what writeOwnedIds wrote. */
export function readOwnedIds(r: ByteReader): { owner: string; ids: number[] }[] {
  const owners: { owner: string; ids: number[] }[] = [];
  for (let k = r.u32(); k > 0; k--) {
    const owner = ownerKey(r.shortstr(), r.u32());
    const ids: number[] = [];
    for (let n = r.u32(); n > 0; n--) ids.push(r.u64());
    owners.push({ owner, ids });
  }
  return owners;
}

/** The key of a consumer in the log: its node and that node's id of it. */
export function ownerKey(node: string, consumerId: number): string {
  return `${node}/${consumerId}`;
}

/**
 * The consumer id of a node's basic.get holder: a message got with manual ack is checked out
 * to (node, GET_HOLDER) until the getting channel settles it (consumer ids start at 1).
 */
export const GET_HOLDER = 0;

/** True for the owner key of a node's basic.get holder. */
export function isGetHolder(owner: string): boolean {
  return owner.endsWith(`/${GET_HOLDER}`);
}

/** The node of an owner key. */
export function ownerNode(owner: string): string {
  return owner.slice(0, owner.lastIndexOf('/'));
}

export type QuorumCommand =
  | { cmd: typeof CMD_ENQUEUE; batchId: number; atMs: number; messages: Message[]; origins?: (EnqueueOrigin | undefined)[] }
  | { cmd: typeof CMD_CHECKOUT; owners: { owner: string; ids: number[] }[] }
  | { cmd: typeof CMD_SETTLE | typeof CMD_RETURN; ids: number[] }
  | { cmd: typeof CMD_DEAD; reason: number; ids: number[] };

export function decodeCommand(data: Buffer): QuorumCommand {
  const cmd = data[0];
  if (cmd === CMD_ENQUEUE || cmd === CMD_ENQUEUE_AT) {
    const r = new ByteReader(data, 1, data.length);
    const batchId = r.u64();
    // 0: an entry written before enqueue times were logged (its TTL counts from the new leader's start).
    const atMs = cmd === CMD_ENQUEUE_AT ? r.u64() : 0;
    const n = r.u32();
    const messages: Message[] = [];
    for (let i = 0; i < n; i++) messages.push(readMessage(r));
    return { cmd: CMD_ENQUEUE, batchId, atMs, messages };
  }
  if (cmd === CMD_CHECKOUT) {
    return { cmd, owners: readOwnedIds(new ByteReader(data, 1, data.length)) };
  }
  if (cmd === CMD_ENQUEUE_FROM) {
    const r = new ByteReader(data, 1, data.length);
    const batchId = r.u64();
    const atMs = r.u64();
    const n = r.u32();
    const messages: Message[] = [];
    const origins: (EnqueueOrigin | undefined)[] = [];
    for (let i = 0; i < n; i++) {
      if (r.u8() === 1) {
        const enqueuer = r.u64();
        const seq = r.u64();
        origins.push({ enqueuer, seq, floor: floorAt(seq, r.u32()) });
      } else origins.push(undefined);
      messages.push(readMessage(r));
    }
    return { cmd: CMD_ENQUEUE, batchId, atMs, messages, origins };
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

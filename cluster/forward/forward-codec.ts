/**
 * The binary frames of clustered messaging, carried on mesh channels (see queue-service.ts):
 * forwarded publishes and their outcomes, deliveries to consumers on other nodes, their
 * settlements and credit, and the requests a node makes of a queue's home. Hot-path frames
 * (forward, outcome, deliver, settle) are written with one shared writer and copied once.
 */
import { ByteReader } from '../../src/protocol/byte-reader';
import { ProtocolSyntaxError } from '../../src/protocol/errors';
import { ByteWriter } from '../../src/protocol/byte-writer';
import type { FieldTable } from '../../src/protocol/field-table';
import { floorAt, floorDistance, type EnqueueOrigin, type Message } from '../../src/broker/message';
import { MessageDecoder, messageBytes, writeMessageAt } from './message-codec';

const writer = new ByteWriter(64 * 1024);

export function reader(payload: Buffer): ByteReader {
  return new ByteReader(payload, 0, payload.length);
}

function writeMessage(w: ByteWriter, m: Message): void {
  w.ensure(messageBytes(m));
  w.pos = writeMessageAt(w.buf, w.pos, m);
}

/** Decoders of the messages of frames from other nodes (each keeps the last routing it saw). */
const forwardDecoder = new MessageDecoder();
const deliveryDecoder = new MessageDecoder();
const otherDecoder = new MessageDecoder();

function readMessage(r: ByteReader, decoder = otherDecoder): Message {
  const { message, next } = decoder.read(r.buf, r.pos, r.end);
  r.pos = next;
  return message;
}

/** The shortstr of a name, encoded once per name (vhost and queue names repeat on every forward). */
const nameBytes = new Map<string, Buffer>();
function shortstrBytes(name: string): Buffer {
  let b = nameBytes.get(name);
  if (!b) {
    if (nameBytes.size > 10_000) nameBytes.clear();
    const text = Buffer.from(name, 'utf8').subarray(0, 255);
    b = Buffer.concat([Buffer.from([text.length]), text]);
    nameBytes.set(name, b);
  }
  return b;
}

// ---- forward (publishing node → home) ----

export interface Forward {
  seq: number;
  /** The publisher waits for this forward's outcome (confirms). */
  confirm: boolean;
  vhost: string;
  queues: string[];
  message: Message;
}

/** Where a forward goes, encoded once: the vhost, then the number and names of the queues. */
export function encodeTarget(vhost: string, queues: string[]): Buffer {
  return Buffer.concat([shortstrBytes(vhost), Buffer.from([queues.length]), ...queues.map(shortstrBytes)]);
}

/** Flag bits of a forward: the publisher waits for its outcome; it carries its origin (quorum queues). */
const FLAG_CONFIRM = 1;
const FLAG_ORIGIN = 2;
const ORIGIN_BYTES = 20;

export function forwardBytes(target: Buffer, message: Message, origin?: EnqueueOrigin): number {
  return 5 + (origin ? ORIGIN_BYTES : 0) + target.length + messageBytes(message);
}

/**
 * Writes a forward of forwardBytes() bytes at `at`. With `origin` (enqueuer, number, and
 * the distance down to its floor, see floorDistance) after the flags.
 */
export function writeForwardAt(out: Buffer, at: number, seq: number, confirm: boolean, target: Buffer, message: Message, origin?: EnqueueOrigin): void {
  out.writeUInt32BE(seq, at);
  out[at + 4] = (confirm ? FLAG_CONFIRM : 0) | (origin ? FLAG_ORIGIN : 0);
  let pos = at + 5;
  if (origin) {
    out.writeUInt32BE(Math.floor(origin.enqueuer / 2 ** 32), pos);
    out.writeUInt32BE(origin.enqueuer >>> 0, pos + 4);
    out.writeUInt32BE(Math.floor(origin.seq / 2 ** 32), pos + 8);
    out.writeUInt32BE(origin.seq >>> 0, pos + 12);
    out.writeUInt32BE(floorDistance(origin), pos + 16);
    pos += ORIGIN_BYTES;
  }
  writeMessageAt(out, pos + target.copy(out, pos), message);
}

/** The vhost and queue names of the last forward decoded, with their bytes (they repeat). */
let lastTarget: { bytes: Buffer; vhost: string; queues: string[] } | undefined;

export function decodeForward(payload: Buffer): Forward {
  const r = reader(payload);
  const seq = r.u32();
  const flags = r.u8();
  const confirm = (flags & FLAG_CONFIRM) !== 0;
  let origin: EnqueueOrigin | undefined;
  if (flags & FLAG_ORIGIN) {
    const enqueuer = r.u64();
    const oseq = r.u64();
    origin = { enqueuer, seq: oseq, floor: floorAt(oseq, r.u32()) };
  }
  const start = r.pos;
  let end = start + 1 + payload[start];
  const n = payload[end] ?? 0;
  end++;
  for (let i = 0; i < n && end < payload.length; i++) end += 1 + payload[end];
  if (end > payload.length) throw new ProtocolSyntaxError('truncated forward');
  let target = lastTarget;
  if (!target || target.bytes.length !== end - start || !target.bytes.equals(payload.subarray(start, end))) {
    const vhost = r.shortstr();
    r.u8();
    const queues: string[] = [];
    for (let i = 0; i < n; i++) queues.push(r.shortstr());
    target = lastTarget = { bytes: Buffer.from(payload.subarray(start, end)), vhost, queues };
  }
  r.pos = end;
  const message = readMessage(r, forwardDecoder);
  message.origin = origin;
  return { seq, confirm, vhost: target.vhost, queues: target.queues, message };
}

// ---- outcomes (home → publishing node): plain forwards taken, and confirm outcomes ----

/** A forward's outcome: nacked, taken (confirmed), or to be sent again (a quorum queue's leader refused it; see resend-parts.ts). */
export const OUTCOME_NACK = 0;
export const OUTCOME_OK = 1;
export const OUTCOME_RESEND = 2;

export interface Outcomes {
  /** Forwards without confirm that were taken (they return credit). */
  plainTaken: number;
  seqs: number[];
  /** OUTCOME_* of each. */
  codes: number[];
}

export function encodeOutcomes(plainTaken: number, seqs: number[], codes: number[]): Buffer {
  const w = writer;
  w.reset();
  w.u32(plainTaken);
  w.u32(seqs.length);
  for (let i = 0; i < seqs.length; i++) {
    w.u32(seqs[i]);
    w.u8(codes[i]);
  }
  return w.take();
}

export function decodeOutcomes(payload: Buffer): Outcomes {
  const r = reader(payload);
  const plainTaken = r.u32();
  const n = r.u32();
  const seqs: number[] = [];
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    seqs.push(r.u32());
    codes.push(r.u8());
  }
  return { plainTaken, seqs, codes };
}

// ---- deliveries (home → consumer's node) ----

export const DELIVER = 1;
export const CANCEL = 2;

export interface Delivery {
  consumerId: number;
  /** The home's id of the delivery, 0 for no-ack consumers. */
  deliveryId: number;
  /** The message's id in a quorum queue's log (0 otherwise): settled by it on a later leader. */
  logId: number;
  redelivered: boolean;
  message: Message;
}

export function deliveryBytes(message: Message): number {
  return 18 + messageBytes(message);
}

/** Writes a delivery of deliveryBytes() bytes at `at`. */
export function writeDeliveryAt(out: Buffer, at: number, consumerId: number, deliveryId: number, redelivered: boolean, logId: number, message: Message): void {
  out[at] = DELIVER;
  out.writeUInt32BE(consumerId, at + 1);
  out.writeUInt32BE(deliveryId, at + 5);
  out[at + 9] = redelivered ? 1 : 0;
  out.writeDoubleBE(logId, at + 10);
  writeMessageAt(out, at + 18, message);
}

export const CANCEL_BYTES = 5;

export function writeCancelAt(out: Buffer, at: number, consumerId: number): void {
  out[at] = CANCEL;
  out.writeUInt32BE(consumerId, at + 1);
}

/** A delivery, or the cancel of a consumer (message undefined). */
export function decodeDeliveryFrame(payload: Buffer): { kind: number; consumerId: number; delivery?: Delivery } {
  const r = reader(payload);
  const kind = r.u8();
  const consumerId = r.u32();
  if (kind !== DELIVER) return { kind, consumerId };
  const deliveryId = r.u32();
  const redelivered = r.u8() === 1;
  const logId = payload.readDoubleBE(r.pos);
  r.pos += 8;
  return { kind, consumerId, delivery: { consumerId, deliveryId, logId, redelivered, message: readMessage(r, deliveryDecoder) } };
}

// ---- settlements and credit (consumer's node → home) ----

export const SETTLE_ACK = 1;
export const SETTLE_REJECT = 2;
export const SETTLE_REQUEUE = 3;
export const CREDIT = 4;
/**
 * Settles of a quorum queue's messages by log id (deliveries from a former leader): the
 * action (SETTLE_ACK, _REJECT or _REQUEUE), the queue, the ids.
 */
export const SETTLE_BY_LOG_ID = 5;
/**
 * The action of a SETTLE_BY_LOG_ID frame that lists every message of the queue the sending
 * node's consumers still hold (sent when they follow a new leader): messages the new leader
 * holds for them that are not listed never reached them (lost with the old leader) and go back.
 */
export const SETTLE_KEEP_ONLY = 6;
/**
 * SETTLE_KEEP_ONLY with, for each message, the sending node's id of the consumer holding it:
 * the ids are pairs (log id, consumer id). Besides what SETTLE_KEEP_ONLY does, a new leader
 * that receives it before its live queue is built holds for that consumer the listed
 * messages the log says no one holds (delivered by the old leader, their checkout lost with
 * it) instead of delivering them again.
 */
export const SETTLE_HOLDS = 7;

export function encodeSettleByLogId(action: number, vhost: string, queue: string, ids: readonly number[]): Buffer {
  const w = new ByteWriter(64 + ids.length * 8);
  w.u8(SETTLE_BY_LOG_ID);
  w.u8(action);
  w.shortstr(vhost);
  w.shortstr(queue);
  w.u32(ids.length);
  for (const id of ids) w.u64(id);
  return w.take();
}

export function decodeSettleByLogId(payload: Buffer): { action: number; vhost: string; queue: string; ids: number[] } {
  const r = reader(payload);
  r.u8();
  const action = r.u8();
  const vhost = r.shortstr();
  const queue = r.shortstr();
  const ids: number[] = [];
  for (let n = r.u32(); n > 0; n--) ids.push(r.u64());
  return { action, vhost, queue, ids };
}

export function encodeSettle(action: number, ids: number[]): Buffer {
  const w = writer;
  w.reset();
  w.u8(action);
  w.u32(ids.length);
  for (const id of ids) w.u32(id);
  return w.take();
}

export function encodeCredit(consumerId: number, credit: number): Buffer {
  const w = writer;
  w.reset();
  w.u8(CREDIT);
  w.u32(consumerId);
  w.u32(credit);
  return w.take();
}

export function decodeSettle(payload: Buffer): { action: number; ids: number[]; consumerId: number; credit: number } {
  const r = reader(payload);
  const action = r.u8();
  if (action === CREDIT) return { action, ids: [], consumerId: r.u32(), credit: r.u32() };
  const n = r.u32();
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(r.u32());
  return { action, ids, consumerId: 0, credit: 0 };
}

// ---- requests to a home, and their replies ----

export const REQ_CONSUME = 1;
export const REQ_CANCEL = 2;
export const REQ_GET = 3;
export const REQ_COUNTS = 4;
export const REQ_PURGE = 5;
/** Counts of every queue of a vhost homed on the asked node (queue name empty). */
export const REQ_VHOST_COUNTS = 6;

export interface ConsumeRequest {
  consumerId: number;
  tag: string;
  noAck: boolean;
  exclusive: boolean;
  priority: number;
  prefetchCount: number;
  args: FieldTable;
}

/** A request: op, vhost, queue, then op-specific fields written by `more`. */
export function encodeRequest(op: number, vhost: string, queue: string, more?: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(256);
  w.u8(op);
  w.shortstr(vhost);
  w.shortstr(queue);
  more?.(w);
  return w.take();
}

export function writeConsume(w: ByteWriter, c: ConsumeRequest): void {
  w.u32(c.consumerId);
  w.shortstr(c.tag);
  w.u8((c.noAck ? 1 : 0) | (c.exclusive ? 2 : 0));
  w.u32(c.priority | 0);
  w.u32(c.prefetchCount);
  w.table(c.args);
}

export function readConsume(r: ByteReader): ConsumeRequest {
  const consumerId = r.u32();
  const tag = r.shortstr();
  const flags = r.u8();
  const priority = r.u32() | 0;
  const prefetchCount = r.u32();
  const args = r.table();
  return { consumerId, tag, noAck: (flags & 1) !== 0, exclusive: (flags & 2) !== 0, priority, prefetchCount, args };
}

/** Reply status: 0 ok, else an AMQP reply code followed by its name and text. */
export function encodeError(code: number, name: string, text: string): Buffer {
  const w = new ByteWriter(64 + text.length);
  w.u16(code);
  w.shortstr(name);
  w.longstr(text);
  return w.take();
}

export function okReply(more?: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(256);
  w.u16(0);
  more?.(w);
  return w.take();
}

export interface GetReply {
  deliveryId: number;
  redelivered: boolean;
  messageCount: number;
  /** A quorum queue's log id of the message (0 otherwise): a later leader settles it by that. */
  logId: number;
  message: Message;
}

/** Leading byte of a get reply: empty, a message, a message with its log id (a quorum queue's). */
const GET_EMPTY = 0;
const GET_MESSAGE = 1;
const GET_MESSAGE_LOG_ID = 2;

export function writeGetReply(w: ByteWriter, g: GetReply | undefined): void {
  w.u8(!g ? GET_EMPTY : g.logId > 0 ? GET_MESSAGE_LOG_ID : GET_MESSAGE);
  if (!g) return;
  w.u32(g.deliveryId);
  w.u8(g.redelivered ? 1 : 0);
  w.u32(g.messageCount);
  if (g.logId > 0) w.u64(g.logId);
  writeMessage(w, g.message);
}

export function readGetReply(r: ByteReader): GetReply | undefined {
  const kind = r.u8();
  if (kind === GET_EMPTY) return undefined;
  const deliveryId = r.u32();
  const redelivered = r.u8() === 1;
  const messageCount = r.u32();
  const logId = kind === GET_MESSAGE_LOG_ID ? r.u64() : 0;
  return { deliveryId, redelivered, messageCount, logId, message: readMessage(r) };
}

// ---- direct reply-to (any node → the requester's node) ----

export function encodeReply(routingKey: string, message: Message): Buffer {
  const w = writer;
  w.reset();
  w.shortstr(routingKey);
  writeMessage(w, message);
  return w.take();
}

export function decodeReply(payload: Buffer): { routingKey: string; message: Message } {
  const r = reader(payload);
  const routingKey = r.shortstr();
  return { routingKey, message: readMessage(r) };
}

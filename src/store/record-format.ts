/**
 * The on-disk record format of segment files. Every record is
 *
 *   magic u32 | crc32 u32 | payloadLength u32 | payload (payloadLength bytes)
 *
 * with the CRC computed over the length field and the payload, so a damaged length is
 * detected as well as damaged content. The magic lets recovery find the next record
 * after a damaged one. Integers are big-endian; 64-bit ids are two u32 halves.
 *
 * Payload, first byte the record type:
 *   SEGMENT_START  type | formatVersion u32 | nextId u64      (first record of a file)
 *   MESSAGE        type | id u64 | queueCount u16 | queueCount × (nameLength u8, name)
 *                  | routingLength u32 | routing | propertiesLength u32 | properties | body
 *   ACK            type | nameLength u8 | name | count u32 | count × id u64
 *   QUEUE_DELETE   type | nameLength u8 | name
 */
import { crc32 } from './crc32';
import type { StoredMessage } from './message-store';

export const RECORD_MAGIC = 0x57524e31; // "WRN1"
export const HEADER_BYTES = 12;
export const FORMAT_VERSION = 1;
/** Upper bound on one record's payload; larger lengths are treated as damage. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024 * 1024;

export const RecordType = {
  SegmentStart: 1,
  Message: 2,
  Ack: 3,
  QueueDelete: 4,
} as const;

const TWO_32 = 0x1_0000_0000;
const MAGIC_BYTES = Buffer.from([0x57, 0x52, 0x4e, 0x31]);

export function writeU64(buf: Buffer, pos: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), pos);
  buf.writeUInt32BE(value >>> 0, pos + 4);
}

export function readU64(buf: Buffer, pos: number): number {
  return buf.readUInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

/** Bytes of a MESSAGE record; `queueNames` are the encoded names. */
export function messageRecordBytes(queueNames: readonly Buffer[], routing: Buffer, properties: Buffer, body: Buffer): number {
  let names = 0;
  for (let i = 0; i < queueNames.length; i++) names += 1 + queueNames[i].length;
  return HEADER_BYTES + 1 + 8 + 2 + names + 4 + routing.length + 4 + properties.length + body.length;
}

/** Writes a MESSAGE record at `pos` (space must be there); returns its end. */
export function writeMessageRecord(
  buf: Buffer,
  pos: number,
  id: number,
  queueNames: readonly Buffer[],
  routing: Buffer,
  properties: Buffer,
  body: Buffer,
): number {
  let p = pos + HEADER_BYTES;
  buf[p++] = RecordType.Message;
  writeU64(buf, p, id);
  p += 8;
  buf.writeUInt16BE(queueNames.length, p);
  p += 2;
  for (let i = 0; i < queueNames.length; i++) {
    const name = queueNames[i];
    buf[p++] = name.length;
    p += name.copy(buf, p);
  }
  buf.writeUInt32BE(routing.length, p);
  p += 4;
  p += routing.copy(buf, p);
  buf.writeUInt32BE(properties.length, p);
  p += 4;
  p += properties.copy(buf, p);
  p += body.copy(buf, p);
  return sealRecord(buf, pos, p);
}

export function ackRecordBytes(queueName: Buffer, count: number): number {
  return HEADER_BYTES + 1 + 1 + queueName.length + 4 + 8 * count;
}

export function writeAckRecord(buf: Buffer, pos: number, queueName: Buffer, ids: readonly number[]): number {
  let p = pos + HEADER_BYTES;
  buf[p++] = RecordType.Ack;
  buf[p++] = queueName.length;
  p += queueName.copy(buf, p);
  buf.writeUInt32BE(ids.length, p);
  p += 4;
  for (let i = 0; i < ids.length; i++, p += 8) writeU64(buf, p, ids[i]);
  return sealRecord(buf, pos, p);
}

export function queueDeleteRecordBytes(queueName: Buffer): number {
  return HEADER_BYTES + 1 + 1 + queueName.length;
}

export function writeQueueDeleteRecord(buf: Buffer, pos: number, queueName: Buffer): number {
  let p = pos + HEADER_BYTES;
  buf[p++] = RecordType.QueueDelete;
  buf[p++] = queueName.length;
  p += queueName.copy(buf, p);
  return sealRecord(buf, pos, p);
}

export const SEGMENT_START_RECORD_BYTES = HEADER_BYTES + 1 + 4 + 8;

export function writeSegmentStartRecord(buf: Buffer, pos: number, nextId: number): number {
  let p = pos + HEADER_BYTES;
  buf[p++] = RecordType.SegmentStart;
  buf.writeUInt32BE(FORMAT_VERSION, p);
  writeU64(buf, p + 4, nextId);
  return sealRecord(buf, pos, p + 12);
}

/** Fills in magic, CRC and length of the record spanning [start, end). */
function sealRecord(buf: Buffer, start: number, end: number): number {
  buf.writeUInt32BE(RECORD_MAGIC, start);
  buf.writeUInt32BE(end - start - HEADER_BYTES, start + 8);
  buf.writeUInt32BE(crc32(buf.subarray(start + 8, end)), start + 4);
  return end;
}

/**
 * Checks the record starting at `pos` within buf[0, limit): magic, length within
 * bounds, CRC. Returns the record's end offset, or -1 if it is not a valid record.
 */
export function validRecordEnd(buf: Buffer, pos: number, limit: number): number {
  if (limit - pos < HEADER_BYTES + 1) return -1;
  if (buf.readUInt32BE(pos) !== RECORD_MAGIC) return -1;
  const length = buf.readUInt32BE(pos + 8);
  if (length < 1 || length > MAX_PAYLOAD_BYTES) return -1;
  const end = pos + HEADER_BYTES + length;
  if (end > limit) return -1;
  if (crc32(buf.subarray(pos + 8, end)) !== buf.readUInt32BE(pos + 4)) return -1;
  return end;
}

/** Offset of the next valid record at or after `from`, or -1. Used to resynchronise. */
export function nextValidRecord(buf: Buffer, from: number, limit: number): number {
  let at = buf.indexOf(MAGIC_BYTES, from);
  while (at !== -1 && at < limit) {
    if (validRecordEnd(buf, at, limit) !== -1) return at;
    at = buf.indexOf(MAGIC_BYTES, at + 1);
  }
  return -1;
}

/**
 * The message bytes of a valid MESSAGE record at `pos` (slices of buf, no copy).
 * Throws RangeError if the lengths inside the record are inconsistent.
 */
export function decodeMessage(buf: Buffer, pos: number, end: number): StoredMessage {
  let p = pos + HEADER_BYTES + 1 + 8;
  const queueCount = buf.readUInt16BE(p);
  p += 2;
  for (let i = 0; i < queueCount; i++) p += 1 + buf[p];
  const routingLength = buf.readUInt32BE(p);
  p += 4;
  const routing = buf.subarray(p, p + routingLength);
  p += routingLength;
  const propertiesLength = buf.readUInt32BE(p);
  p += 4;
  const properties = buf.subarray(p, p + propertiesLength);
  p += propertiesLength;
  if (p > end) throw new RangeError('message record lengths exceed the record');
  return { routing, properties, body: buf.subarray(p, end) };
}

import type { ByteWriter } from './byte-writer';
import {
  encodeBasicProperties,
  encodeMethod,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type AmqpMethod,
  type BasicProperties,
} from './methods.generated';

/** The 8-byte heartbeat frame. */
export const HEARTBEAT_FRAME = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

function beginFrame(w: ByteWriter, type: number, channel: number): number {
  w.ensure(7);
  w.buf[w.pos] = type;
  w.buf.writeUInt16BE(channel, w.pos + 1);
  w.pos += 7;
  return w.pos;
}

function endFrame(w: ByteWriter, payloadStart: number): void {
  w.buf.writeUInt32BE(w.pos - payloadStart, payloadStart - 4);
  w.u8(FRAME_END);
}

export function writeMethodFrame(w: ByteWriter, channel: number, method: AmqpMethod): void {
  const start = beginFrame(w, FRAME_METHOD, channel);
  encodeMethod(w, method);
  endFrame(w, start);
}

/**
 * Writes a content header frame. `properties` is either decoded properties or the raw bytes
 * that follow the body-size field in a received header (property flags and values), which
 * lets the broker pass a publisher's properties through untouched.
 */
export function writeHeaderFrame(
  w: ByteWriter,
  channel: number,
  classId: number,
  bodySize: number,
  properties: BasicProperties | Buffer,
): void {
  const start = beginFrame(w, FRAME_HEADER, channel);
  w.u16(classId);
  w.u16(0);
  w.u64(bodySize);
  if (Buffer.isBuffer(properties)) w.bytes(properties);
  else encodeBasicProperties(w, properties);
  endFrame(w, start);
}

/** Writes the frame header of a body frame of `size` bytes; the caller appends the bytes and FRAME_END. */
export function writeBodyFrameHeader(w: ByteWriter, channel: number, size: number): void {
  w.ensure(7);
  w.buf[w.pos] = FRAME_BODY;
  w.buf.writeUInt16BE(channel, w.pos + 1);
  w.buf.writeUInt32BE(size, w.pos + 3);
  w.pos += 7;
}

/** Body frames of at most frameMax - 8 payload bytes each, copied into the writer. */
export function writeBodyFrames(w: ByteWriter, channel: number, body: Buffer, frameMaxBytes: number): void {
  const maxPayload = frameMaxBytes - 8;
  for (let offset = 0; offset < body.length; offset += maxPayload) {
    const piece = body.subarray(offset, Math.min(body.length, offset + maxPayload));
    writeBodyFrameHeader(w, channel, piece.length);
    w.bytes(piece);
    w.u8(FRAME_END);
  }
}

/**
 * The mesh's own binary frames, carried as opaque gRPC messages. One gRPC message is a
 * batch: frames laid end to end, each `u32 length | u8 type | body`, where length counts
 * the type byte and the body. Numbers are big-endian. Decoding never copies payloads: a
 * payload handed to a handler is a slice of the received batch.
 *
 * Handshake frames (HELLO … DIAL_BACK) are encoded one per gRPC message before a link is
 * up; the hot frames (CHANNEL, MESSAGE, REQUEST, RESPONSE) are batched by OutboundQueue.
 */
import { MeshError } from './mesh-errors';

/** Bumped on any incompatible change of the frames below; HELLO carries it. */
export const PROTOCOL_VERSION = 1;

export const FrameType = {
  /** dialer → acceptor: version, nonce, own name, expected acceptor name, advertised address. */
  HELLO: 1,
  /** acceptor → dialer: nonce, acceptor proof, own name. */
  CHALLENGE: 2,
  /** dialer → acceptor: dialer proof. */
  AUTH: 3,
  /** acceptor → dialer: the link is up. */
  WELCOME: 4,
  /** acceptor → dialer: authenticated, but the acceptor (the smaller name) will dial instead. */
  DIAL_BACK: 5,
  /** Defines a channel id for the rest of this link, in this direction: u16 id | utf8 name. */
  CHANNEL: 6,
  /** Fire-and-forget: u16 channel id | payload. */
  MESSAGE: 16,
  /** u32 correlation id | u16 channel id | payload. */
  REQUEST: 17,
  /** u32 correlation id | u8 ResponseStatus | payload (utf8 error text unless OK). */
  RESPONSE: 18,
  /** f64 sender's clock in ms; answered by PONG with the same value. */
  PING: 19,
  PONG: 20,
  /** utf8 reason; the sender is closing the link on purpose. */
  GOODBYE: 21,
} as const;

export const ResponseStatus = { OK: 0, ERROR: 1, NO_HANDLER: 2 } as const;

/** Length of a frame's header: u32 length + u8 type. */
export const FRAME_HEADER_BYTES = 5;
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;

/** What a decoded batch is delivered to. Calls happen synchronously, in frame order. */
export interface FrameVisitor {
  onChannel(id: number, name: string): void;
  onMessage(channelId: number, payload: Buffer): void;
  onRequest(id: number, channelId: number, payload: Buffer): void;
  onResponse(id: number, status: number, payload: Buffer): void;
  onPing(sentAtMs: number): void;
  onPong(sentAtMs: number): void;
  /** Handshake frames and GOODBYE: the raw body, parsed by the handshake code. */
  onControl(type: number, body: Buffer): void;
}

/**
 * Decodes every frame of `batch` into `visitor`. Throws MeshError PROTOCOL_ERROR on a
 * truncated or unknown frame; frames before the bad one have been delivered.
 */
export function decodeBatch(batch: Buffer, visitor: FrameVisitor): void {
  let pos = 0;
  const end = batch.length;
  while (pos < end) {
    if (end - pos < FRAME_HEADER_BYTES) throw protocolError('truncated frame header');
    const length = batch.readUInt32BE(pos);
    const frameEnd = pos + 4 + length;
    if (length < 1 || frameEnd > end) throw protocolError('frame length out of bounds');
    const type = batch[pos + 4]!;
    const body = pos + FRAME_HEADER_BYTES;
    switch (type) {
      case FrameType.MESSAGE:
        need(frameEnd - body, 2);
        visitor.onMessage(batch.readUInt16BE(body), batch.subarray(body + 2, frameEnd));
        break;
      case FrameType.REQUEST:
        need(frameEnd - body, 6);
        visitor.onRequest(batch.readUInt32BE(body), batch.readUInt16BE(body + 4), batch.subarray(body + 6, frameEnd));
        break;
      case FrameType.RESPONSE:
        need(frameEnd - body, 5);
        visitor.onResponse(batch.readUInt32BE(body), batch[body + 4]!, batch.subarray(body + 5, frameEnd));
        break;
      case FrameType.CHANNEL:
        need(frameEnd - body, 2);
        visitor.onChannel(batch.readUInt16BE(body), batch.toString('utf8', body + 2, frameEnd));
        break;
      case FrameType.PING:
        need(frameEnd - body, 8);
        visitor.onPing(batch.readDoubleBE(body));
        break;
      case FrameType.PONG:
        need(frameEnd - body, 8);
        visitor.onPong(batch.readDoubleBE(body));
        break;
      case FrameType.HELLO:
      case FrameType.CHALLENGE:
      case FrameType.AUTH:
      case FrameType.WELCOME:
      case FrameType.DIAL_BACK:
      case FrameType.GOODBYE:
        visitor.onControl(type, batch.subarray(body, frameEnd));
        break;
      default:
        throw protocolError(`unknown frame type ${type}`);
    }
    pos = frameEnd;
  }
}

function need(have: number, want: number): void {
  if (have < want) throw protocolError('frame body too short');
}

function protocolError(message: string): MeshError {
  return new MeshError('PROTOCOL_ERROR', message);
}

// ---- handshake frames: rare, so plain objects and one allocation each ----

export interface Hello {
  version: number;
  nonce: Buffer;
  nodeName: string;
  /** The node the dialer believes it is talking to; the acceptor refuses if it is someone else. */
  expectedPeer: string;
  /** Where the dialer can be dialed back; host '' means "the address you see me connect from". */
  advertiseHost: string;
  advertisePort: number;
}

export interface Challenge {
  nonce: Buffer;
  proof: Buffer;
  nodeName: string;
}

/** A whole single-frame message. */
export function encodeControl(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[4] = type;
  body.copy(out, FRAME_HEADER_BYTES);
  return out;
}

export function encodeHello(h: Hello): Buffer {
  return encodeControl(
    FrameType.HELLO,
    Buffer.concat([Buffer.from([h.version]), h.nonce, str16(h.nodeName), str16(h.expectedPeer), str16(h.advertiseHost), u16(h.advertisePort)]),
  );
}

export function decodeHello(body: Buffer): Hello {
  const r = new BodyReader(body);
  const version = r.u8();
  const nonce = r.bytes(NONCE_BYTES);
  return { version, nonce, nodeName: r.str16(), expectedPeer: r.str16(), advertiseHost: r.str16(), advertisePort: r.u16() };
}

export function encodeChallenge(c: Challenge): Buffer {
  return encodeControl(FrameType.CHALLENGE, Buffer.concat([c.nonce, c.proof, str16(c.nodeName)]));
}

export function decodeChallenge(body: Buffer): Challenge {
  const r = new BodyReader(body);
  return { nonce: r.bytes(NONCE_BYTES), proof: r.bytes(PROOF_BYTES), nodeName: r.str16() };
}

export function encodeAuth(proof: Buffer): Buffer {
  return encodeControl(FrameType.AUTH, proof);
}

export function decodeAuth(body: Buffer): Buffer {
  if (body.length !== PROOF_BYTES) throw protocolError('AUTH proof has the wrong length');
  return body;
}

export function encodeGoodbye(reason: string): Buffer {
  return encodeControl(FrameType.GOODBYE, Buffer.from(reason, 'utf8'));
}

export function encodePing(type: typeof FrameType.PING | typeof FrameType.PONG, sentAtMs: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
  out.writeUInt32BE(9, 0);
  out[4] = type;
  out.writeDoubleBE(sentAtMs, FRAME_HEADER_BYTES);
  return out;
}

function str16(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 0xffff) throw new MeshError('TOO_LARGE', 'string longer than 65535 bytes');
  return Buffer.concat([u16(bytes.length), bytes]);
}

function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n, 0);
  return b;
}

class BodyReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.ensure(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.ensure(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  bytes(n: number): Buffer {
    this.ensure(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  str16(): string {
    const n = this.u16();
    return this.bytes(n).toString('utf8');
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) throw protocolError('handshake frame too short');
  }
}

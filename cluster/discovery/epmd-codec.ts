/**
 * Byte layouts of the EPMD wire protocol (see shared/spec/epmd-protocol.md).
 * Pure: no I/O. Every multi-byte integer is big-endian. Requests carry a u16
 * length prefix; responses do not.
 */

/** Request and response codes, as the protocol spells them. */
export const EpmdCode = {
  ALIVE2_REQ: 120,
  ALIVE2_X_RESP: 118,
  ALIVE2_RESP: 121,
  PORT_PLEASE2_REQ: 122,
  PORT2_RESP: 119,
  NAMES_REQ: 110,
  DUMP_REQ: 100,
  KILL_REQ: 107,
  STOP_REQ: 115,
} as const;

/** NodeType byte: a normal node, or a hidden one (C nodes, CLI tools). */
export const NodeType = { NORMAL: 77, HIDDEN: 72 } as const;

/** Default port of the port mapper, as Erlang's. */
export const DEFAULT_EPMD_PORT = 4369;
/** Longest node name or extra field accepted, in bytes (255 UTF-8 characters of up to 4 bytes). */
export const MAX_SYMBOL_BYTES = 255 * 4;
/** Longest request body accepted; anything larger is garbage. */
export const MAX_REQUEST_BYTES = 3 * MAX_SYMBOL_BYTES;
/** Creation value epmd puts in a failed ALIVE2 reply. */
export const FAILED_CREATION = 99;

/** What a node registers: the body of ALIVE2_REQ, and what PORT2_RESP returns. */
export interface NodeEntry {
  /** The short "alive" name, the part of `warren@host` before the `@`. */
  name: string;
  /** TCP port of the node's inter-node (distribution) listener. */
  port: number;
  nodeType: number;
  /** 0 = TCP/IPv4. */
  protocol: number;
  highestVersion: number;
  lowestVersion: number;
  /** Opaque bytes returned verbatim by lookups. */
  extra: Buffer;
}

/** A decoded request body, or the reason it was refused. */
export type EpmdRequest =
  | { code: typeof EpmdCode.ALIVE2_REQ; entry: NodeEntry }
  | { code: typeof EpmdCode.PORT_PLEASE2_REQ; name: string }
  | { code: typeof EpmdCode.NAMES_REQ }
  | { code: typeof EpmdCode.DUMP_REQ }
  | { code: typeof EpmdCode.KILL_REQ }
  | { code: typeof EpmdCode.STOP_REQ; name: string }
  | { code: 'invalid'; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a node name; undefined when it is not 1..255 characters of valid UTF-8 without NUL. */
export function decodeName(bytes: Buffer): string | undefined {
  if (bytes.length === 0 || bytes.length > MAX_SYMBOL_BYTES || bytes.includes(0)) return undefined;
  let name: string;
  try {
    name = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  const characters = [...name].length;
  return characters >= 1 && characters <= 255 ? name : undefined;
}

/** Frames a request body with its u16 length. */
function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

/** ALIVE2_REQ, framed. */
export function encodeAlive2Request(entry: NodeEntry): Buffer {
  const name = Buffer.from(entry.name, 'utf8');
  const body = Buffer.allocUnsafe(13 + name.length + entry.extra.length);
  body.writeUInt8(EpmdCode.ALIVE2_REQ, 0);
  body.writeUInt16BE(entry.port, 1);
  body.writeUInt8(entry.nodeType, 3);
  body.writeUInt8(entry.protocol, 4);
  body.writeUInt16BE(entry.highestVersion, 5);
  body.writeUInt16BE(entry.lowestVersion, 7);
  body.writeUInt16BE(name.length, 9);
  name.copy(body, 11);
  body.writeUInt16BE(entry.extra.length, 11 + name.length);
  entry.extra.copy(body, 13 + name.length);
  return frame(body);
}

/** PORT_PLEASE2_REQ, framed. */
export function encodePortPlease2Request(name: string): Buffer {
  return frame(Buffer.concat([Buffer.of(EpmdCode.PORT_PLEASE2_REQ), Buffer.from(name, 'utf8')]));
}

/** A one-byte request (NAMES_REQ, DUMP_REQ, KILL_REQ), framed. */
export function encodeSimpleRequest(code: number): Buffer {
  return frame(Buffer.of(code));
}

/** STOP_REQ, framed. */
export function encodeStopRequest(name: string): Buffer {
  return frame(Buffer.concat([Buffer.of(EpmdCode.STOP_REQ), Buffer.from(name, 'utf8')]));
}

/** Decodes one request body (without its length prefix). Never throws. */
export function decodeRequest(body: Buffer): EpmdRequest {
  if (body.length === 0) return { code: 'invalid', reason: 'empty request' };
  switch (body[0]) {
    case EpmdCode.ALIVE2_REQ:
      return decodeAlive2(body);
    case EpmdCode.PORT_PLEASE2_REQ: {
      // epmd tolerates one trailing NUL after the name.
      const end = body.length > 1 && body[body.length - 1] === 0 ? body.length - 1 : body.length;
      const name = decodeName(body.subarray(1, end));
      return name === undefined ? { code: 'invalid', reason: 'bad node name' } : { code: EpmdCode.PORT_PLEASE2_REQ, name };
    }
    case EpmdCode.NAMES_REQ:
      return { code: EpmdCode.NAMES_REQ };
    case EpmdCode.DUMP_REQ:
      return { code: EpmdCode.DUMP_REQ };
    case EpmdCode.KILL_REQ:
      return { code: EpmdCode.KILL_REQ };
    case EpmdCode.STOP_REQ: {
      const name = decodeName(body.subarray(1));
      return name === undefined ? { code: 'invalid', reason: 'bad node name' } : { code: EpmdCode.STOP_REQ, name };
    }
    default:
      return { code: 'invalid', reason: `unknown request code ${body[0]}` };
  }
}

function decodeAlive2(body: Buffer): EpmdRequest {
  // At least one byte of name: 13 fixed bytes plus the name.
  if (body.length <= 13) return { code: 'invalid', reason: 'ALIVE2_REQ too short' };
  const nameLength = body.readUInt16BE(9);
  if (13 + nameLength > body.length) return { code: 'invalid', reason: 'ALIVE2_REQ name length' };
  const extraLength = body.readUInt16BE(11 + nameLength);
  if (13 + nameLength + extraLength > body.length) return { code: 'invalid', reason: 'ALIVE2_REQ extra length' };
  if (extraLength > MAX_SYMBOL_BYTES) return { code: 'invalid', reason: 'ALIVE2_REQ extra too long' };
  const name = decodeName(body.subarray(11, 11 + nameLength));
  if (name === undefined) return { code: 'invalid', reason: 'bad node name' };
  return {
    code: EpmdCode.ALIVE2_REQ,
    entry: {
      name,
      port: body.readUInt16BE(1),
      nodeType: body[3],
      protocol: body[4],
      highestVersion: body.readUInt16BE(5),
      lowestVersion: body.readUInt16BE(7),
      extra: Buffer.from(body.subarray(13 + nameLength, 13 + nameLength + extraLength)),
    },
  };
}

/**
 * The reply to ALIVE2_REQ: ALIVE2_X_RESP (32-bit creation) for nodes speaking
 * distribution version 6 or later, ALIVE2_RESP (16-bit creation) for older ones.
 */
export function encodeAlive2Response(highestVersion: number, ok: boolean, creation: number): Buffer {
  if (highestVersion >= 6) {
    const out = Buffer.allocUnsafe(6);
    out.writeUInt8(EpmdCode.ALIVE2_X_RESP, 0);
    out.writeUInt8(ok ? 0 : 1, 1);
    out.writeUInt32BE(ok ? creation >>> 0 : FAILED_CREATION, 2);
    return out;
  }
  const out = Buffer.allocUnsafe(4);
  out.writeUInt8(EpmdCode.ALIVE2_RESP, 0);
  out.writeUInt8(ok ? 0 : 1, 1);
  out.writeUInt16BE(ok ? creation & 0xffff : FAILED_CREATION, 2);
  return out;
}

/** PORT2_RESP: the entry when found, else the two-byte failure. */
export function encodePort2Response(entry: NodeEntry | undefined): Buffer {
  if (!entry) return Buffer.of(EpmdCode.PORT2_RESP, 1);
  const name = Buffer.from(entry.name, 'utf8');
  const out = Buffer.allocUnsafe(14 + name.length + entry.extra.length);
  out.writeUInt8(EpmdCode.PORT2_RESP, 0);
  out.writeUInt8(0, 1);
  out.writeUInt16BE(entry.port, 2);
  out.writeUInt8(entry.nodeType, 4);
  out.writeUInt8(entry.protocol, 5);
  out.writeUInt16BE(entry.highestVersion, 6);
  out.writeUInt16BE(entry.lowestVersion, 8);
  out.writeUInt16BE(name.length, 10);
  name.copy(out, 12);
  out.writeUInt16BE(entry.extra.length, 12 + name.length);
  entry.extra.copy(out, 14 + name.length);
  return out;
}

/** The 4-byte port header that starts NAMES and DUMP replies. */
export function encodePortHeader(port: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(port >>> 0, 0);
  return out;
}

/** One NAMES line, exactly as epmd writes it. */
export function namesLine(name: string, port: number): string {
  return `name ${name} at port ${port}\n`;
}

/** Result of reading a reply that the port mapper may still be writing. */
export type ReplyRead<T> = { done: false } | { done: true; value: T; used: number };

/** Decodes ALIVE2_X_RESP or ALIVE2_RESP; throws on a reply that is neither. */
export function decodeAlive2Response(bytes: Buffer): ReplyRead<{ ok: boolean; creation: number }> {
  if (bytes.length < 1) return { done: false };
  if (bytes[0] === EpmdCode.ALIVE2_X_RESP) {
    if (bytes.length < 6) return { done: false };
    return { done: true, value: { ok: bytes[1] === 0, creation: bytes.readUInt32BE(2) }, used: 6 };
  }
  if (bytes[0] === EpmdCode.ALIVE2_RESP) {
    if (bytes.length < 4) return { done: false };
    return { done: true, value: { ok: bytes[1] === 0, creation: bytes.readUInt16BE(2) }, used: 4 };
  }
  throw new Error(`unexpected ALIVE2 reply code ${bytes[0]}`);
}

/** Decodes PORT2_RESP: the entry, or undefined when the name is not registered. Throws on garbage. */
export function decodePort2Response(bytes: Buffer): ReplyRead<NodeEntry | undefined> {
  if (bytes.length < 2) return { done: false };
  if (bytes[0] !== EpmdCode.PORT2_RESP) throw new Error(`unexpected PORT2 reply code ${bytes[0]}`);
  if (bytes[1] !== 0) return { done: true, value: undefined, used: 2 };
  if (bytes.length < 12) return { done: false };
  const nameLength = bytes.readUInt16BE(10);
  if (bytes.length < 14 + nameLength) return { done: false };
  const extraLength = bytes.readUInt16BE(12 + nameLength);
  if (bytes.length < 14 + nameLength + extraLength) return { done: false };
  return {
    done: true,
    used: 14 + nameLength + extraLength,
    value: {
      port: bytes.readUInt16BE(2),
      nodeType: bytes[4],
      protocol: bytes[5],
      highestVersion: bytes.readUInt16BE(6),
      lowestVersion: bytes.readUInt16BE(8),
      name: bytes.subarray(12, 12 + nameLength).toString('utf8'),
      extra: Buffer.from(bytes.subarray(14 + nameLength, 14 + nameLength + extraLength)),
    },
  };
}

/** Decodes a complete NAMES reply (everything up to the port mapper's close). Throws on garbage. */
export function decodeNamesResponse(bytes: Buffer): { epmdPort: number; nodes: { name: string; port: number }[] } {
  if (bytes.length < 4) throw new Error('NAMES reply shorter than its port header');
  const epmdPort = bytes.readUInt32BE(0);
  const nodes: { name: string; port: number }[] = [];
  for (const line of bytes.subarray(4).toString('utf8').split('\n')) {
    if (line === '') continue;
    const match = /^name (.+) at port (\d+)$/.exec(line);
    if (!match) throw new Error(`unexpected NAMES line: ${JSON.stringify(line)}`);
    nodes.push({ name: match[1], port: Number(match[2]) });
  }
  return { epmdPort, nodes };
}

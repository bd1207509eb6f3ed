/**
 * The bodies a member installing a snapshot asks another member for: the request is a
 * list of message ids, the answer one status per id (the body; gone, i.e. settled by a
 * committed entry; or not yet known there, to be asked again).
 */
import { ByteReader } from '../../src/protocol/byte-reader';
import { ByteWriter } from '../../src/protocol/byte-writer';
import type { Message } from '../../src/broker/message';
import { readMessage, writeMessage } from './quorum-codec';

export const SERVED_GONE = 0;
export const SERVED_BODY = 1;
export const SERVED_NOT_YET = 2;

export function encodeIdList(ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(4 + ids.length * 8);
  out.writeUInt32BE(ids.length, 0);
  for (let i = 0; i < ids.length; i++) out.writeDoubleBE(ids[i], 4 + i * 8);
  return out;
}

export function decodeIdList(b: Buffer): number[] {
  const n = b.readUInt32BE(0);
  if (b.length < 4 + n * 8) throw new RangeError('truncated id list');
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(b.readDoubleBE(4 + i * 8));
  return ids;
}

/** `get` returns the message, null when it is gone, undefined when not known yet. */
export function encodeServed(ids: readonly number[], get: (id: number) => Message | null | undefined): Buffer {
  const w = new ByteWriter(64 * 1024);
  w.u32(ids.length);
  for (const id of ids) {
    const m = get(id);
    if (m === undefined) w.u8(SERVED_NOT_YET);
    else if (m === null) w.u8(SERVED_GONE);
    else {
      w.u8(SERVED_BODY);
      writeMessage(w, m);
    }
  }
  return w.take();
}

export function decodeServed(b: Buffer, ids: readonly number[], each: (id: number, status: number, message: Message | undefined) => void): void {
  const r = new ByteReader(b, 0, b.length);
  const n = r.u32();
  if (n !== ids.length) throw new RangeError(`bodies answer for ${n} ids, asked ${ids.length}`);
  for (let i = 0; i < n; i++) {
    const status = r.u8();
    each(ids[i], status, status === SERVED_BODY ? readMessage(r) : undefined);
  }
}

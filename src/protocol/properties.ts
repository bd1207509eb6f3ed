import { ByteReader } from './byte-reader';
import { decodeBasicProperties, PropertyFlag, type BasicProperties } from './methods.generated';

/**
 * Raw basic properties are the bytes of a content header after body-size: the property-flags
 * word, then the present properties. The broker keeps them raw and decodes on demand.
 */
export function decodeRawProperties(raw: Buffer): BasicProperties {
  const r = new ByteReader(raw, 2, raw.length);
  return decodeBasicProperties(raw.readUInt16BE(0), r);
}

/** delivery-mode without decoding the headers table (it precedes delivery-mode on the wire). */
export function peekDeliveryMode(raw: Buffer): number {
  const flags = raw.readUInt16BE(0);
  if ((flags & PropertyFlag.deliveryMode) === 0) return 0;
  let pos = 2;
  if (flags & PropertyFlag.contentType) pos += 1 + raw[pos];
  if (flags & PropertyFlag.contentEncoding) pos += 1 + raw[pos];
  if (flags & PropertyFlag.headers) pos += 4 + raw.readUInt32BE(pos);
  return raw[pos];
}

/** True when the raw properties carry any of the given flags. */
export function hasProperty(raw: Buffer, flag: number): boolean {
  return (raw.readUInt16BE(0) & flag) !== 0;
}

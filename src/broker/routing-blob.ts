import type { Message } from './message';

/** Exchange and routing key of a stored message: two shortstr-like fields. */
export function routingBlob(message: Message): Buffer {
  const exchange = Buffer.from(message.exchange);
  const key = Buffer.from(message.routingKey);
  const out = Buffer.allocUnsafe(4 + exchange.length + key.length);
  out.writeUInt16BE(exchange.length, 0);
  exchange.copy(out, 2);
  out.writeUInt16BE(key.length, 2 + exchange.length);
  key.copy(out, 4 + exchange.length);
  return out;
}

export function parseRoutingBlob(blob: Buffer): { exchange: string; routingKey: string } {
  const exchangeLength = blob.readUInt16BE(0);
  const exchange = blob.toString('utf8', 2, 2 + exchangeLength);
  const keyLength = blob.readUInt16BE(2 + exchangeLength);
  return { exchange, routingKey: blob.toString('utf8', 4 + exchangeLength, 4 + exchangeLength + keyLength) };
}

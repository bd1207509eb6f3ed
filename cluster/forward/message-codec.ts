/**
 * A message inside a forwarding frame: exchange and routing key as the two shortstrs a
 * basic.deliver carries (Message.routingBytes, copied as bytes, never re-encoded), then
 * properties and body as longstrs. A node forwarding one publisher's stream sees the same
 * routing over and over, so the decoder keeps the last one it decoded and shares its
 * strings and bytes instead of decoding them again.
 */
import { ProtocolSyntaxError } from '../../src/protocol/errors';
import { Message } from '../../src/broker/message';

/** Bodies smaller than this are copied out of the received batch instead of pinning it. */
const COPY_BELOW_BYTES = 32 * 1024;

export function messageBytes(m: Message): number {
  return m.routingBytes.length + 8 + m.rawProperties.length + m.body.length;
}

/** Writes `m` at `pos`; returns the position after it. */
export function writeMessageAt(buf: Buffer, pos: number, m: Message): number {
  pos += m.routingBytes.copy(buf, pos);
  buf.writeUInt32BE(m.rawProperties.length, pos);
  pos += 4 + m.rawProperties.copy(buf, pos + 4);
  buf.writeUInt32BE(m.body.length, pos);
  return pos + 4 + m.body.copy(buf, pos + 4);
}

interface Routing {
  bytes: Buffer;
  exchange: string;
  routingKey: string;
}

export class MessageDecoder {
  private last: Routing | undefined;

  /** Reads a message at `pos` of `buf` (up to `end`); `next` receives the position after it. */
  read(buf: Buffer, pos: number, end: number): { message: Message; next: number } {
    if (pos + 2 > end) throw new ProtocolSyntaxError('truncated message');
    const exchangeLength = buf[pos];
    const keyLength = buf[pos + 1 + exchangeLength];
    const routingEnd = pos + 2 + exchangeLength + keyLength;
    if (routingEnd + 8 > end) throw new ProtocolSyntaxError('truncated message');
    const routing = this.routing(buf, pos, routingEnd, exchangeLength);
    const propsLength = buf.readUInt32BE(routingEnd);
    const propsStart = routingEnd + 4;
    if (propsStart + propsLength + 4 > end) throw new ProtocolSyntaxError('truncated message');
    const bodyLength = buf.readUInt32BE(propsStart + propsLength);
    const bodyStart = propsStart + propsLength + 4;
    if (bodyStart + bodyLength > end) throw new ProtocolSyntaxError('truncated message');
    const properties = Buffer.from(buf.subarray(propsStart, propsStart + propsLength));
    const body = bodyLength < COPY_BELOW_BYTES ? Buffer.from(buf.subarray(bodyStart, bodyStart + bodyLength)) : buf.subarray(bodyStart, bodyStart + bodyLength);
    return { message: new Message(routing.exchange, routing.routingKey, properties, body, routing.bytes), next: bodyStart + bodyLength };
  }

  private routing(buf: Buffer, start: number, end: number, exchangeLength: number): Routing {
    const last = this.last;
    if (last && last.bytes.length === end - start && last.bytes.equals(buf.subarray(start, end))) return last;
    const bytes = Buffer.from(buf.subarray(start, end));
    const exchange = bytes.toString('utf8', 1, 1 + exchangeLength);
    const routingKey = bytes.toString('utf8', 2 + exchangeLength);
    return (this.last = { bytes, exchange, routingKey });
  }
}

import { ProtocolSyntaxError } from '../protocol/errors';
import type { BasicPublish } from '../protocol/methods.generated';

/**
 * Decodes basic.publish method frames without the generic decoder: a channel usually
 * publishes with the same exchange and routing key again and again, so when their bytes
 * match the previous publish the strings and the encoded routing are reused. The frame is
 * read in place (a range of the read buffer): nothing is sliced.
 */
export class PublishFrameDecoder {
  private lastRouting: Buffer | undefined;
  private lastExchange = '';
  private lastRoutingKey = '';
  private readonly args: BasicPublish = { ticket: 0, exchange: '', routingKey: '', mandatory: false, immediate: false };

  /** The routing (exchange and routing key as two shortstrs) of the last decoded publish, shared between equal publishes. */
  get routingBytes(): Buffer {
    return this.lastRouting!;
  }

  /**
   * The arguments of the publish in `buf[start, end)`; its routing is `routingBytes` afterwards.
   * The returned object is this decoder's own, overwritten by the next decode: whoever keeps it
   * past the publish (a transaction) keeps a copy.
   */
  decode(buf: Buffer, start: number, end: number): BasicPublish {
    // payload: class (2), method (2), ticket (2), shortstr exchange, shortstr routing-key, bits
    const length = end - start;
    if (length < 9) throw new ProtocolSyntaxError('truncated basic.publish');
    const exchangeEnd = 7 + buf[start + 6];
    if (exchangeEnd >= length) throw new ProtocolSyntaxError('truncated basic.publish');
    const bitsAt = exchangeEnd + 1 + buf[start + exchangeEnd];
    if (bitsAt >= length) throw new ProtocolSyntaxError('truncated basic.publish');
    const last = this.lastRouting;
    if (last === undefined || !sameBytes(last, buf, start + 6, bitsAt - 6)) {
      this.lastRouting = Buffer.from(buf.subarray(start + 6, start + bitsAt));
      this.lastExchange = buf.toString('utf8', start + 7, start + exchangeEnd);
      this.lastRoutingKey = buf.toString('utf8', start + exchangeEnd + 1, start + bitsAt);
    }
    const bits = buf[start + bitsAt];
    const args = this.args;
    args.ticket = buf.readUInt16BE(start + 4);
    args.exchange = this.lastExchange;
    args.routingKey = this.lastRoutingKey;
    args.mandatory = (bits & 1) !== 0;
    args.immediate = (bits & 2) !== 0;
    return args;
  }
}

/** `a` equals `buf[at, at + length)`: a loop, cheaper than a slice and a native compare for these short runs. */
function sameBytes(a: Buffer, buf: Buffer, at: number, length: number): boolean {
  if (a.length !== length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== buf[at + i]) return false;
  return true;
}

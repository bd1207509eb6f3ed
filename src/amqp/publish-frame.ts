import { ProtocolSyntaxError } from '../protocol/errors';
import type { BasicPublish } from '../protocol/methods.generated';

/**
 * Decodes basic.publish method frames without the generic decoder: a channel usually
 * publishes with the same exchange and routing key again and again, so when their bytes
 * match the previous publish the strings and the encoded routing are reused.
 */
export class PublishFrameDecoder {
  private lastRouting: Buffer | undefined;
  private lastExchange = '';
  private lastRoutingKey = '';

  /** The publish's arguments and its routing as two shortstrs (shared between equal publishes). */
  decode(payload: Buffer): { args: BasicPublish; routingBytes: Buffer } {
    // payload: class (2), method (2), ticket (2), shortstr exchange, shortstr routing-key, bits
    if (payload.length < 9) throw new ProtocolSyntaxError('truncated basic.publish');
    const exchangeEnd = 7 + payload[6];
    if (exchangeEnd >= payload.length) throw new ProtocolSyntaxError('truncated basic.publish');
    const bitsAt = exchangeEnd + 1 + payload[exchangeEnd];
    if (bitsAt >= payload.length) throw new ProtocolSyntaxError('truncated basic.publish');
    const routing = payload.subarray(6, bitsAt);
    let routingBytes = this.lastRouting;
    if (routingBytes === undefined || !routing.equals(routingBytes)) {
      routingBytes = this.lastRouting = Buffer.from(routing);
      this.lastExchange = payload.toString('utf8', 7, exchangeEnd);
      this.lastRoutingKey = payload.toString('utf8', exchangeEnd + 1, bitsAt);
    }
    const bits = payload[bitsAt];
    return {
      args: {
        ticket: payload.readUInt16BE(4),
        exchange: this.lastExchange,
        routingKey: this.lastRoutingKey,
        mandatory: (bits & 1) !== 0,
        immediate: (bits & 2) !== 0,
      },
      routingBytes,
    };
  }
}

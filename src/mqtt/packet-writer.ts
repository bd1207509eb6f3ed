import { generate, type Packet } from 'mqtt-packet';
import { BatchedWriter } from '../util/batched-writer';

/** An MQTT connection's writer: packets are encoded at once for the session's protocol version (see BatchedWriter). */
export class PacketWriter extends BatchedWriter {
  protocolVersion: 3 | 4 | 5 = 4;

  /** Encodes and queues `packet`; false when it was not sent (closed, or larger than maxBytes). */
  send(packet: Packet, maxBytes = Infinity): boolean {
    if (this.closed) return false;
    const bytes = generate(packet, { protocolVersion: this.protocolVersion });
    if (bytes.length > maxBytes) return false;
    return this.queueBytes(bytes);
  }
}

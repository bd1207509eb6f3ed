import type { Duplex } from 'node:stream';
import { generate, type Packet } from 'mqtt-packet';

/** Above this many bytes waiting in the socket, deliveries pause until it drains. */
const CONGESTED_BYTES = 1024 * 1024;

/**
 * The one choke point through which an MQTT connection writes. Packets are encoded at once
 * and written once per event-loop turn, so a burst of deliveries becomes one socket write.
 */
export class PacketWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private closed = false;
  protocolVersion: 3 | 4 | 5 = 4;

  constructor(
    private readonly socket: Duplex,
    onDrain: () => void,
  ) {
    socket.on('drain', onDrain);
  }

  get congested(): boolean {
    return this.socket.writableLength + this.pendingBytes > CONGESTED_BYTES;
  }

  /** Encodes and queues `packet`; false when it was not sent (closed, or larger than maxBytes). */
  send(packet: Packet, maxBytes = Infinity): boolean {
    if (this.closed) return false;
    const bytes = generate(packet, { protocolVersion: this.protocolVersion });
    if (bytes.length > maxBytes) return false;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const out = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.socket.write(out);
  }

  /** Writes what is queued, then ends the socket. */
  end(): void {
    this.flush();
    this.closed = true;
    this.socket.end();
  }

  close(): void {
    this.closed = true;
    this.pending = [];
  }
}

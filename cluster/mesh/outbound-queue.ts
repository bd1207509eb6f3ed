/**
 * Frames waiting to be written to one peer, in send order, and their encoding into
 * batches (one gRPC message each). Items live in parallel arrays so that queuing a
 * message allocates nothing but the array slots. Not thread-safe, and needs not be:
 * everything runs on the event loop.
 */
import { FRAME_HEADER_BYTES, FrameType } from './frame-codec';
import { MeshError } from './mesh-errors';

/** Rough per-frame overhead counted into `bytes`, so that empty payloads still weigh something. */
const ITEM_OVERHEAD_BYTES = 16;
const MAX_CHANNEL_ID = 0xffff;

/**
 * Channel name → id for one direction of one link. A fresh link starts empty; the first
 * use of a name on that link emits a CHANNEL frame ahead of the frame that uses it.
 */
export class ChannelTable {
  private readonly ids = new Map<string, number>();
  private nextId = 0;

  lookup(name: string): number | undefined {
    return this.ids.get(name);
  }

  define(name: string): number {
    if (this.nextId > MAX_CHANNEL_ID) throw new MeshError('TOO_LARGE', 'more than 65536 channels on one link');
    const id = this.nextId++;
    this.ids.set(name, id);
    return id;
  }
}

export class OutboundQueue {
  private kinds: number[] = [];
  private ids: number[] = [];
  private channels: string[] = [];
  private payloads: Buffer[] = [];
  private head = 0;
  /** Approximate bytes queued: payloads plus a fixed overhead per frame. */
  bytes = 0;

  get length(): number {
    return this.kinds.length - this.head;
  }

  pushMessage(channel: string, payload: Buffer): void {
    this.push(FrameType.MESSAGE, 0, channel, payload);
  }

  pushRequest(id: number, channel: string, payload: Buffer): void {
    this.push(FrameType.REQUEST, id, channel, payload);
  }

  /** `status` is a ResponseStatus; it travels in the channel slot's place. */
  pushResponse(id: number, status: number, payload: Buffer): void {
    this.push(FrameType.RESPONSE, id, String(status), payload);
  }

  /** Drops everything queued. */
  clear(): void {
    this.kinds = [];
    this.ids = [];
    this.channels = [];
    this.payloads = [];
    this.head = 0;
    this.bytes = 0;
  }

  /**
   * Removes frames from the head, up to about `maxBatchBytes` (always at least one), and
   * encodes them into one buffer after the `prefix` frames (already encoded control
   * frames such as PING). Channel ids come from, and new ones are added to, `table`.
   * Returns undefined when there is nothing to write.
   */
  takeBatch(table: ChannelTable, maxBatchBytes: number, prefix: readonly Buffer[]): Buffer | undefined {
    let size = 0;
    for (const p of prefix) size += p.length;
    const first = this.head;
    let last = first;
    let newChannels: string[] | undefined;
    // Pass 1: choose how many frames fit and which channels need defining.
    while (last < this.kinds.length) {
      const kind = this.kinds[last]!;
      let frameBytes = FRAME_HEADER_BYTES + this.payloads[last]!.length;
      let definitionBytes = 0;
      if (kind === FrameType.RESPONSE) {
        frameBytes += 5;
      } else {
        frameBytes += kind === FrameType.REQUEST ? 6 : 2;
        const channel = this.channels[last]!;
        if (table.lookup(channel) === undefined) {
          // Defined now so that a second use in the same batch is not defined twice.
          table.define(channel);
          (newChannels ??= []).push(channel);
          definitionBytes = FRAME_HEADER_BYTES + 2 + Buffer.byteLength(channel, 'utf8');
        }
      }
      if (last > first && size + definitionBytes + frameBytes > maxBatchBytes) {
        // This frame waits for the next batch. A table entry cannot be taken back, so a
        // channel it just defined is still defined in this batch.
        size += definitionBytes;
        break;
      }
      size += definitionBytes + frameBytes;
      last++;
    }
    if (size === 0) return undefined;

    // Pass 2: write.
    const out = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const p of prefix) pos += p.copy(out, pos);
    if (newChannels !== undefined) {
      for (const name of newChannels) {
        const nameBytes = Buffer.byteLength(name, 'utf8');
        out.writeUInt32BE(1 + 2 + nameBytes, pos);
        out[pos + 4] = FrameType.CHANNEL;
        out.writeUInt16BE(table.lookup(name)!, pos + 5);
        pos += FRAME_HEADER_BYTES + 2;
        pos += out.write(name, pos, 'utf8');
      }
    }
    let freed = 0;
    for (let i = first; i < last; i++) {
      const kind = this.kinds[i]!;
      const payload = this.payloads[i]!;
      out[pos + 4] = kind;
      let body = pos + FRAME_HEADER_BYTES;
      if (kind === FrameType.MESSAGE) {
        out.writeUInt16BE(table.lookup(this.channels[i]!)!, body);
        body += 2;
      } else if (kind === FrameType.REQUEST) {
        out.writeUInt32BE(this.ids[i]!, body);
        out.writeUInt16BE(table.lookup(this.channels[i]!)!, body + 4);
        body += 6;
      } else {
        out.writeUInt32BE(this.ids[i]!, body);
        out[body + 4] = Number(this.channels[i]);
        body += 5;
      }
      payload.copy(out, body);
      const frameEnd = body + payload.length;
      out.writeUInt32BE(frameEnd - pos - 4, pos);
      pos = frameEnd;
      freed += payload.length + ITEM_OVERHEAD_BYTES;
    }
    this.bytes -= freed;
    this.consume(last);
    return out;
  }

  private push(kind: number, id: number, channel: string, payload: Buffer): void {
    this.kinds.push(kind);
    this.ids.push(id);
    this.channels.push(channel);
    this.payloads.push(payload);
    this.bytes += payload.length + ITEM_OVERHEAD_BYTES;
  }

  private consume(upTo: number): void {
    if (upTo >= this.kinds.length) {
      this.kinds.length = 0;
      this.ids.length = 0;
      this.channels.length = 0;
      this.payloads.length = 0;
      this.head = 0;
      return;
    }
    // Release payload references now; compact only once the dead prefix is large.
    for (let i = this.head; i < upTo; i++) this.payloads[i] = EMPTY;
    this.head = upTo;
    if (this.head > 1024 && this.head * 2 > this.kinds.length) {
      this.kinds = this.kinds.slice(this.head);
      this.ids = this.ids.slice(this.head);
      this.channels = this.channels.slice(this.head);
      this.payloads = this.payloads.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);

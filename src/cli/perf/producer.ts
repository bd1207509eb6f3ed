import { ByteWriter } from '../../protocol/byte-writer';
import { writeBodyFrames, writeHeaderFrame, writeMethodFrame } from '../../protocol/frame-writer';
import { MethodKey } from '../../protocol/methods.generated';
import { PerfConnection, type ChannelListener, type PerfChannel } from './amqp-client';
import type { PerfOptions } from './options';
import { nowMs, type ThreadStats } from './thread-stats';

/** Bytes of publishes written per event-loop turn before yielding (to read confirms, to be fair to other roles). */
const BATCH_BYTES = 128 * 1024;
/** Most messages per turn, so that 16-byte messages still yield often enough. */
const BATCH_MESSAGES = 2000;
/** Above this many bytes waiting in the socket, wait for 'drain' (the broker is pushing back). */
const SOCKET_HIGH_WATER_BYTES = 1024 * 1024;

/**
 * One publishing connection. Each message is a copy of a pre-encoded publish (method, header
 * and body frames) with the send time patched into the first 8 body bytes; one timestamp
 * per batch, since a batch leaves in one socket write. The publish loop is a bound method
 * rescheduled with setImmediate, setTimeout (rate limit) or on 'drain' — no per-message
 * closures or promises.
 */
export class Producer implements ChannelListener {
  /** When the producer reached its message count and every confirm arrived, epoch ms; 0 while running. */
  doneAtMs = 0;
  private conn!: PerfConnection;
  private channel!: PerfChannel;
  private template!: Buffer;
  private timestampAt = -1;
  private running = false;
  private scheduled = false;
  private waitingForDrain = false;
  private sent = 0;
  private startedMs = 0;
  // Publisher confirms: outstanding sequence numbers are flags in a ring of at least `confirm` slots.
  private nextSeq = 1;
  private lowestUnconfirmed = 1;
  private outstanding = 0;
  private ring = new Uint8Array(0);
  private ringMask = 0;
  private readonly tickBound = () => this.tick();

  constructor(
    private readonly opts: PerfOptions,
    private readonly routingKey: string,
    private readonly stats: ThreadStats,
    private readonly name: string,
  ) {}

  async setup(): Promise<void> {
    this.conn = await PerfConnection.open(this.opts.uri, this.name);
    this.conn.onError = (err) => (this.stats.error ??= `${this.name}: ${err.message}`);
    this.channel = await this.conn.openChannel();
    this.channel.listener = this;
    if (this.opts.confirm > 0) {
      await this.channel.rpc({ key: MethodKey.ConfirmSelect, args: { nowait: false } }, MethodKey.ConfirmSelectOk);
      let size = 1;
      while (size < this.opts.confirm) size *= 2;
      this.ring = new Uint8Array(size);
      this.ringMask = size - 1;
    }
    this.buildTemplate();
    this.conn.socket.on('drain', () => {
      this.waitingForDrain = false;
      this.schedule();
    });
  }

  private buildTemplate(): void {
    const o = this.opts;
    const w = new ByteWriter(o.bodyBytes + 512);
    const id = this.channel.id;
    writeMethodFrame(w, id, {
      key: MethodKey.BasicPublish,
      args: { ticket: 0, exchange: o.exchange, routingKey: this.routingKey, mandatory: false, immediate: false },
    });
    writeHeaderFrame(w, id, 60, o.bodyBytes, o.persistent ? { deliveryMode: 2 } : {});
    const bodyStart = w.pos;
    writeBodyFrames(w, id, Buffer.alloc(o.bodyBytes), this.conn.frameMaxBytes);
    if (o.bodyBytes >= 8) this.timestampAt = bodyStart + 7;
    this.template = w.take();
  }

  start(): void {
    this.running = true;
    this.startedMs = nowMs();
    this.schedule();
  }

  stop(): void {
    this.running = false;
  }

  get done(): boolean {
    return this.doneAtMs !== 0;
  }

  async close(): Promise<void> {
    this.running = false;
    await this.conn?.close();
  }

  private schedule(): void {
    if (this.scheduled || !this.running) return;
    this.scheduled = true;
    setImmediate(this.tickBound);
  }

  private tick(): void {
    this.scheduled = false;
    if (!this.running || this.conn.error || this.waitingForDrain) return;
    const o = this.opts;
    const size = this.template.length;
    let budget = Math.min(BATCH_MESSAGES, Math.max(1, Math.floor(BATCH_BYTES / size)));
    if (o.producerMessages > 0) {
      budget = Math.min(budget, o.producerMessages - this.sent);
      if (budget <= 0) return this.checkDone();
    }
    if (o.confirm > 0) {
      budget = Math.min(budget, o.confirm - this.outstanding);
      if (budget <= 0) return; // onConfirm reschedules
    }
    const now = nowMs();
    if (o.rate > 0) {
      const due = Math.floor(((now - this.startedMs) * o.rate) / 1000) - this.sent;
      if (due <= 0) {
        const waitMs = ((this.sent + 1) * 1000) / o.rate - (now - this.startedMs);
        this.scheduled = true;
        setTimeout(this.tickBound, Math.max(1, Math.ceil(waitMs)));
        return;
      }
      budget = Math.min(budget, due);
    }
    if (this.conn.blocked) {
      this.scheduled = true;
      setTimeout(this.tickBound, 10);
      return;
    }
    const w = this.conn.out;
    w.ensure(size * budget);
    const buf = w.buf;
    const template = this.template;
    const tsAt = this.timestampAt;
    let pos = w.pos;
    for (let i = 0; i < budget; i++) {
      template.copy(buf, pos);
      if (tsAt >= 0) buf.writeDoubleBE(now, pos + tsAt);
      pos += size;
    }
    w.pos = pos;
    if (o.confirm > 0) {
      const ring = this.ring;
      for (let i = 0; i < budget; i++) ring[(this.nextSeq + i) & this.ringMask] = 1;
      this.nextSeq += budget;
      this.outstanding += budget;
    }
    this.sent += budget;
    this.stats.sent += budget;
    this.conn.flush();
    if (this.conn.writableLength > SOCKET_HIGH_WATER_BYTES) {
      this.waitingForDrain = true;
      return;
    }
    if (o.producerMessages > 0 && this.sent >= o.producerMessages) return this.checkDone();
    this.schedule();
  }

  /** amqp 0-9-1: basic.ack / basic.nack from the broker, possibly with multiple = true. */
  onConfirm(tag: number, multiple: boolean, nack: boolean): void {
    const ring = this.ring;
    const mask = this.ringMask;
    let count = 0;
    if (multiple) {
      for (let seq = this.lowestUnconfirmed; seq <= tag; seq++) {
        if (ring[seq & mask] === 1) {
          ring[seq & mask] = 0;
          count++;
        }
      }
    } else if (tag >= this.lowestUnconfirmed && tag < this.nextSeq && ring[tag & mask] === 1) {
      ring[tag & mask] = 0;
      count = 1;
    }
    let low = this.lowestUnconfirmed;
    while (low < this.nextSeq && ring[low & mask] === 0) low++;
    this.lowestUnconfirmed = low;
    this.outstanding -= count;
    if (nack) this.stats.nacked += count;
    else this.stats.confirmed += count;
    if (this.opts.producerMessages > 0 && this.sent >= this.opts.producerMessages) this.checkDone();
    else this.schedule();
  }

  private checkDone(): void {
    if (this.doneAtMs === 0 && this.outstanding === 0) this.doneAtMs = nowMs();
  }
}

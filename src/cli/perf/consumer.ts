import { MethodKey } from '../../protocol/methods.generated';
import { writeMethodFrame } from '../../protocol/frame-writer';
import { PerfConnection, type ChannelListener, type PerfChannel } from './amqp-client';
import type { PerfOptions } from './options';
import { nowMs, type ThreadStats } from './thread-stats';

/**
 * One consuming connection. Each delivery's latency is the time since the timestamp in its
 * first 8 body bytes. With manual acks, one basic.ack with multiple = true covers everything
 * delivered in a socket read, sent when the read has been processed.
 */
export class Consumer implements ChannelListener {
  /** When the consumer reached its message count, epoch ms; 0 while running. */
  doneAtMs = 0;
  private conn!: PerfConnection;
  private channel!: PerfChannel;
  private counting = true;
  private received = 0;
  private lastTag = 0;
  private ackPending = false;

  constructor(
    private readonly opts: PerfOptions,
    private readonly queue: string,
    private readonly stats: ThreadStats,
    private readonly name: string,
  ) {}

  async setup(): Promise<void> {
    this.conn = await PerfConnection.open(this.opts.uri, this.name);
    this.conn.onError = (err) => (this.stats.error ??= `${this.name}: ${err.message}`);
    this.channel = await this.conn.openChannel();
    this.channel.listener = this;
    if (!this.opts.autoAck) this.conn.addReadEndListener(this);
    if (this.opts.prefetch > 0) {
      await this.channel.rpc(
        { key: MethodKey.BasicQos, args: { prefetchSize: 0, prefetchCount: this.opts.prefetch, global: false } },
        MethodKey.BasicQosOk,
      );
    }
  }

  /** Sends basic.consume; deliveries start as soon as the broker answers. */
  start(): void {
    this.channel
      .rpc(
        {
          key: MethodKey.BasicConsume,
          args: {
            ticket: 0,
            queue: this.queue,
            consumerTag: '',
            noLocal: false,
            noAck: this.opts.autoAck,
            exclusive: false,
            nowait: false,
            arguments: {},
          },
        },
        MethodKey.BasicConsumeOk,
      )
      .catch((err: Error) => (this.stats.error ??= `${this.name}: ${err.message}`));
  }

  /** Stops counting; deliveries still arriving are acked but not reported. */
  stop(): void {
    this.counting = false;
  }

  get done(): boolean {
    return this.doneAtMs !== 0;
  }

  async close(): Promise<void> {
    this.counting = false;
    await this.conn?.close();
  }

  onDelivery(deliveryTag: number, firstBodyFrame: Buffer): void {
    this.lastTag = deliveryTag;
    this.ackPending = true;
    if (!this.counting) return;
    this.stats.received++;
    if (firstBodyFrame.length >= 8) {
      const latencyMs = nowMs() - firstBodyFrame.readDoubleBE(0);
      this.stats.latency.record(latencyMs * 1000);
    }
    const limit = this.opts.consumerMessages;
    if (limit > 0 && ++this.received >= limit) {
      this.doneAtMs = nowMs();
      this.counting = false;
    }
  }

  onReadEnd(): void {
    if (!this.ackPending) return;
    this.ackPending = false;
    // amqp 0-9-1: basic.ack multiple = true acknowledges every delivery up to the tag.
    writeMethodFrame(this.conn.out, this.channel.id, {
      key: MethodKey.BasicAck,
      args: { deliveryTag: this.lastTag, multiple: true },
    });
    this.conn.flush();
  }
}

import type { Socket } from 'node:net';
import { ByteReader } from '../protocol/byte-reader';
import { FrameError, ProtocolSyntaxError } from '../protocol/errors';
import { FrameReader } from '../protocol/frame-reader';
import { HEARTBEAT_FRAME } from '../protocol/frame-writer';
import { decodeMethodArgs, METHOD_INFO, MethodKey, type AmqpMethod } from '../protocol/methods.generated';
import type { FieldTable } from '../protocol/field-table';
import { AmqpError, ChannelError, NotFound, CommandInvalid, ConnectionForced, NotAllowed, FrameErrorReply, InternalError, isChannelError, SyntaxErrorReply, UnexpectedFrame } from '../broker/errors';
import type { Broker } from '../broker/broker';
import type { FlowGate, FlowWaiter, MetadataStore } from '../broker/ports';
import type { VirtualHost } from '../broker/vhost';
import type { Logger } from '../log/logger';
import { Channel } from './channel';
import type { ChannelConsumer } from './channel-consumer';
import { Handshake } from './handshake';
import { FrameOutput, STUCK_OUTPUT_MS } from './writer';
import { updateSecret } from './update-secret';
import { displayAddress } from './socket-address';
import type { ResourceAlarms } from '../broker/alarms';
import { checkChannelLimit } from './limits';
import type { AuthSettings } from '../auth/authenticator';

export interface ConnectionLimits {
  channelMax: number;
  frameMaxBytes: number;
  heartbeatSeconds: number;
  handshakeTimeoutMs: number;
  /** RabbitMQ's max_connections: connection.open is refused (530) once this many are open; undefined = no limit. */
  maxConnections?: number;
}

export interface ConnectionContext {
  broker: Broker;
  metadata: MetadataStore;
  limits: ConnectionLimits;
  clusterName: string;
  log: Logger;
  onClosed?: (connection: Connection) => void;
  /** Memory and disk alarms; publishing connections are blocked while any is active. */
  alarms?: ResourceAlarms;
  /** Mechanisms, loopback users and certificate logins; the defaults when absent. */
  auth?: AuthSettings;
  /** The listener's connections, counted for the vhost and user connection and channel limits. */
  peers?: ReadonlySet<Connection>;
  /** The node's consumer timeout, ms (0 = off); see consumer-timeout.ts. */
  consumerTimeoutMs?: number;
}

const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
/** AMQP 0-9's header, which RabbitMQ accepts and treats as 0-9-1. */
const PROTOCOL_HEADER_0_9 = Buffer.from('AMQP\x01\x01\x00\x09', 'latin1');
let nextConnectionNumber = 1;
/** Bytes queued for a client that is not reading, past which we stop reading from it. */
const UNREAD_OUTPUT_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * One client connection: protocol header, handshake, frame routing to channels, heartbeats,
 * and the close handshakes. Errors a client causes close its channel or this connection,
 * never the process.
 */
export class Connection implements FlowGate, FlowWaiter {
  readonly id: string;
  readonly out: FrameOutput;
  readonly channels = new Map<number, Channel>();
  readonly exclusiveQueues = new Set<string>();
  readonly log: Logger;
  state: 'header' | 'handshake' | 'open' | 'closing' | 'closed' = 'header';
  vhost: VirtualHost | undefined;
  user = '';
  clientProperties: FieldTable = {};
  capabilities = { consumerCancelNotify: false, connectionBlocked: false, authenticationFailureClose: false };
  channelMax: number;
  heartbeatSeconds = 0;
  /** Set on the first basic.publish: only publishing connections are blocked by alarms. */
  hasPublished = false;
  /** Why the socket is not being read: an alarm, flow control, or too many frames held by busy channels. */
  private readonly pausedFor = new Set<'alarm' | 'flow' | 'held' | 'output'>();
  /** Publishers paused until this connection's socket drains. */
  private readonly flowWaiters = new Set<FlowWaiter>();
  private stuckTimer: NodeJS.Timeout | undefined;
  private readonly reader: FrameReader;
  private readonly handshake: Handshake;
  private headerBytes: Buffer = Buffer.alloc(0);
  private lastReceivedMs = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly dirtyConfirms = new Set<Channel>();
  private readonly flushConfirmsBound = (): void => this.flushConfirms();
  /** Reused for every method frame: decoding allocates only the decoded method. */
  private readonly methodReader = new ByteReader(Buffer.alloc(0), 0, 0);
  /** Class and method of the method frame being handled: a close it causes names them, as RabbitMQ's do. */
  /** The method frame being handled, `causeBuf[causeStart, causeEnd)` (read only when an error needs its class and method). */
  private causeBuf: Buffer | undefined;
  private causeStart = 0;
  private causeEnd = 0;

  private get causeKey(): number {
    const b = this.causeBuf;
    return b !== undefined && this.causeEnd - this.causeStart >= 4 ? b.readUInt32BE(this.causeStart) : 0;
  }

  constructor(
    readonly socket: Socket,
    readonly ctx: ConnectionContext,
  ) {
    this.id = `${displayAddress(socket.remoteAddress)}:${socket.remotePort}#${nextConnectionNumber++}`;
    this.log = ctx.log.child({ connection: this.id });
    this.channelMax = ctx.limits.channelMax;
    this.out = new FrameOutput(socket, ctx.limits.frameMaxBytes, () => this.onWritable());
    this.reader = new FrameReader((type, channel, buf, start, end) => this.onFrame(type, channel, buf, start, end), ctx.limits.frameMaxBytes);
    this.handshake = new Handshake(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.teardown());
    this.closeTimer = setTimeout(() => {
      if (this.state !== 'open') {
        this.log.warn('handshake timeout');
        socket.destroy();
      }
    }, ctx.limits.handshakeTimeoutMs);
  }

  get broker(): Broker {
    return this.ctx.broker;
  }

  get metadata(): MetadataStore {
    return this.ctx.metadata;
  }

  private onData(chunk: Buffer): void {
    this.lastReceivedMs = Date.now();
    this.ctx.alarms?.noteIngress(chunk.length);
    try {
      if (this.state === 'header') {
        chunk = this.readProtocolHeader(chunk);
        if (chunk.length === 0) return;
      }
      if (this.state === 'closed') return;
      this.reader.push(chunk);
      // A client that sends but does not read its replies is not read either (TCP-style backpressure).
      if (this.out.congested && this.socket.writableLength > UNREAD_OUTPUT_LIMIT_BYTES) this.pauseReading('output');
    } catch (err) {
      this.handleError(err, 0, this.causeKey);
    }
  }

  /** Consumes the 8-byte protocol header; returns the bytes after it. */
  private readProtocolHeader(chunk: Buffer): Buffer {
    const needed = 8 - this.headerBytes.length;
    this.headerBytes = Buffer.concat([this.headerBytes, chunk.subarray(0, needed)]);
    const rest = chunk.subarray(needed);
    const prefixOk =
      PROTOCOL_HEADER.subarray(0, this.headerBytes.length).equals(this.headerBytes) ||
      PROTOCOL_HEADER_0_9.subarray(0, this.headerBytes.length).equals(this.headerBytes);
    if (!prefixOk) {
      // amqp 0-9-1 §4.2.2: answer with the header we support, then close.
      this.socket.end(PROTOCOL_HEADER);
      this.state = 'closed';
      return Buffer.alloc(0);
    }
    if (this.headerBytes.length < 8) return Buffer.alloc(0);
    this.state = 'handshake';
    this.handshake.start();
    return rest;
  }

  /** Decodes a method frame payload; unknown methods and malformed fields are connection errors. */
  decodeMethod(payload: Buffer): AmqpMethod {
    if (payload.length < 4) throw new SyntaxErrorReply('method frame too short');
    const key = payload.readUInt32BE(0);
    const r = this.methodReader;
    r.buf = payload;
    r.pos = 4;
    r.end = payload.length;
    let method: AmqpMethod | null;
    try {
      method = decodeMethodArgs(key, r);
    } catch (err) {
      // RabbitMQ: a method whose fields do not decode is a 501 naming the method.
      if (err instanceof ProtocolSyntaxError && err.message.startsWith('truncated value')) throw new FrameErrorReply(`cannot decode <<${[...payload.subarray(4, 64)].join(',')}>>`);
      throw err;
    }
    if (!method) throw new CommandInvalid(`unknown method ${key >>> 16}/${key & 0xffff}`);
    return method;
  }

  private onFrame(type: number, channelId: number, buf: Buffer, start: number, end: number): void {
    if (this.state === 'closed') return;
    this.causeBuf = type === 1 ? buf : undefined;
    this.causeStart = start;
    this.causeEnd = end;
    if (type === 8) {
      if (channelId !== 0) throw new UnexpectedFrame('heartbeat frame on a non-zero channel');
      return;
    }
    if (type !== 1 && type !== 2 && type !== 3) throw new FrameErrorReply(`unknown frame type ${type}`);
    if (channelId === 0) {
      if (type !== 1) throw new UnexpectedFrame(`content frame on channel 0`);
      const method = this.decodeMethod(buf.subarray(start, end));
      if (method.key >>> 16 !== 10) throw new ChannelError(`unexpected method in connection state ${this.state === 'open' ? 'running' : this.state}`);
      this.onConnectionMethod(method);
      return;
    }
    if (this.state === 'closing') {
      return;
    }
    if (this.state !== 'open') throw new ChannelError(`channel ${channelId} used before the connection is open`);
    const channel = this.channels.get(channelId);
    let method: AmqpMethod | null = null;
    if (type === 1 && channel !== undefined && end - start >= 4 && buf.readUInt32BE(start) === MethodKey.BasicPublish) {
      // The publish hot path: the channel decodes it itself (see PublishFrameDecoder).
    } else if (type === 1) {
      method = this.decodeMethod(buf.subarray(start, end));
      if (method.key === MethodKey.ChannelOpen && !channel) {
        this.openChannel(channelId);
        return;
      }
      if (method.key === MethodKey.ChannelClose && channel) return this.onChannelClose(channel);
      if (method.key === MethodKey.ChannelCloseOk && channel) {
        if (channel.state === 'closing' && this.channels.delete(channelId)) this.broker.churn.channelClosed++;
        return;
      }
    }
    try {
      if (!channel) throw new ChannelError(`expected 'channel.open'`);
      channel.onFrame(type, buf, start, end, method);
    } catch (err) {
      this.handleError(err, channelId, channel?.causeKey ?? this.causeKey);
    }
  }

  private openChannel(id: number): void {
    // RabbitMQ limits how many channels are open, not their numbers; and names no method.
    if (this.channelMax !== 0 && this.channels.size >= this.channelMax) {
      this.causeBuf = undefined;
      throw new NotAllowed(`number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`);
    }
    checkChannelLimit(this);
    this.channels.set(id, new Channel(this, id));
    this.broker.churn.channelCreated++;
    this.out.method(id, { key: MethodKey.ChannelOpenOk, args: { channelId: Buffer.alloc(0) } });
  }

  private onChannelClose(channel: Channel): void {
    channel.releaseResources();
    channel.state = 'closed';
    this.channels.delete(channel.id);
    this.broker.churn.channelClosed++;
    this.out.method(channel.id, { key: MethodKey.ChannelCloseOk, args: {} });
  }

  private onConnectionMethod(m: AmqpMethod): void {
    if (m.key === MethodKey.ConnectionClose) {
      this.out.method(0, { key: MethodKey.ConnectionCloseOk, args: {} });
      this.out.flush();
      this.state = 'closed';
      this.socket.end();
      return;
    }
    if (m.key === MethodKey.ConnectionCloseOk) {
      if (this.state === 'closing') this.socket.destroy();
      return;
    }
    if (this.state === 'closing') return;
    if (this.state === 'handshake') return this.handshake.onMethod(m);
    if (m.key === MethodKey.ConnectionUpdateSecret) return updateSecret(this, m.args);
    throw new CommandInvalid(`${METHOD_INFO.get(m.key)?.name} unexpected on an open connection`);
  }

  /** The close about to be sent names no method (RabbitMQ's login refusal does not). */
  forgetCause(): void {
    this.causeBuf = undefined;
  }

  /** Called by the handshake once connection.open succeeded. */
  opened(vhost: VirtualHost, frameMaxBytes: number, heartbeatSeconds: number): void {
    this.vhost = vhost;
    this.state = 'open';
    this.reader.frameMaxBytes = frameMaxBytes;
    this.out.frameMaxBytes = frameMaxBytes;
    this.heartbeatSeconds = heartbeatSeconds;
    clearTimeout(this.closeTimer);
    if (heartbeatSeconds > 0) this.startHeartbeats(heartbeatSeconds * 1000);
  }

  private startHeartbeats(intervalMs: number): void {
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceivedMs > intervalMs * 2 && this.pausedFor.size === 0) {
        this.log.info('missed heartbeats from client, closing connection');
        this.socket.destroy();
        return;
      }
      if (now - this.out.lastWriteMs >= intervalMs / 2) {
        this.out.raw(HEARTBEAT_FRAME);
      }
    }, intervalMs / 2);
    this.heartbeatTimer.unref();
  }

  /** Routes an error from a frame or a handler to a channel or connection close. */
  handleError(err: unknown, channelId: number, methodKey: number): void {
    if (err instanceof FrameError) err = new FrameErrorReply(err.message);
    else if (err instanceof ProtocolSyntaxError) err = new SyntaxErrorReply(err.message);
    if (!(err instanceof AmqpError)) {
      this.log.error({ err }, 'internal error while handling a frame');
      err = new InternalError('internal error');
    }
    const e = err as AmqpError;
    const classId = methodKey >>> 16;
    const methodId = methodKey & 0xffff;
    const channel = this.channels.get(channelId);
    if (channelId !== 0 && channel && isChannelError(e)) {
      channel.closeWithError(e, classId, methodId);
      return;
    }
    this.closeWithError(e, classId, methodId);
  }

  /** Sends connection.close with the error and waits briefly for close-ok before dropping the socket. */
  closeWithError(e: AmqpError, classId: number, methodId: number): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.log.info({ replyCode: e.replyCode, replyText: e.replyText }, 'closing connection on error');
    this.out.method(0, { key: MethodKey.ConnectionClose, args: { replyCode: e.replyCode, replyText: e.replyText.slice(0, 255), classId, methodId } });
    this.out.flush();
    this.state = 'closing';
    this.releaseChannels();
    const timer = setTimeout(() => this.socket.destroy(), 3000);
    timer.unref();
  }

  /** Closes the connection from the broker side (shutdown, operator). */
  forceClose(replyText: string): void {
    this.closeWithError(new ConnectionForced(replyText), 0, 0);
  }

  /** Not read from while a resource alarm is on (connection.blocked sent if the client asked). */
  get blocked(): boolean {
    return this.pausedFor.has('alarm');
  }

  /** Called for every basic.publish: blocks the connection when an alarm is on. */
  notePublish(): void {
    this.hasPublished = true;
    if (!this.blocked && this.ctx.alarms && this.ctx.alarms.active.size > 0) this.block();
  }

  /** Stops reading from the socket until the alarms clear. */
  block(): void {
    if (this.blocked || this.state !== 'open') return;
    if (this.capabilities.connectionBlocked) {
      this.out.method(0, { key: MethodKey.ConnectionBlocked, args: { reason: this.ctx.alarms?.reason() ?? 'resource alarm' } });
    }
    this.pauseReading('alarm');
  }

  unblock(): void {
    if (!this.blocked) return;
    if (this.capabilities.connectionBlocked && this.state === 'open') this.out.method(0, { key: MethodKey.ConnectionUnblocked, args: {} });
    this.resumeReading('alarm');
  }

  /**
   * Flow control: this connection published into a queue that cannot keep up (a consumer's
   * backed-up socket, a remote home out of credit), so stop reading from it until the gate
   * lets it go on. Publishers thus run at the pace of their consumers instead of growing the
   * queue (RabbitMQ's credit flow).
   */
  waitOn(gate: FlowGate): void {
    if (this.pausedFor.has('flow') || gate === this) return;
    this.pauseReading('flow');
    gate.addFlowWaiter(this);
  }

  /** FlowWaiter: the gate this connection waited on opened. */
  resumeFlow(): void {
    this.resumeReading('flow');
  }

  /** FlowGate: a publisher waits until this connection's socket drains (released at once when it is gone). */
  addFlowWaiter(waiter: FlowWaiter): void {
    if (this.state !== 'open') return waiter.resumeFlow();
    this.flowWaiters.add(waiter);
    // A consumer that stops reading must not hold its publishers for good (see STUCK_OUTPUT_MS).
    this.stuckTimer ??= setTimeout(() => {
      this.stuckTimer = undefined;
      this.releaseFlowWaiters();
    }, STUCK_OUTPUT_MS);
  }

  /** Stops reading the socket until every reason given has been withdrawn. */
  pauseReading(reason: 'alarm' | 'flow' | 'held' | 'output'): void {
    if (this.pausedFor.size === 0) this.socket.pause();
    this.pausedFor.add(reason);
  }

  resumeReading(reason: 'alarm' | 'flow' | 'held' | 'output'): void {
    if (!this.pausedFor.delete(reason) || this.pausedFor.size > 0) return;
    this.lastReceivedMs = Date.now();
    if (this.state !== 'closed') this.socket.resume();
  }

  private releaseFlowWaiters(): void {
    clearTimeout(this.stuckTimer);
    this.stuckTimer = undefined;
    for (const w of this.flowWaiters) w.resumeFlow();
    this.flowWaiters.clear();
  }

  markConfirmsDirty(channel: Channel): void {
    if (this.dirtyConfirms.size === 0) process.nextTick(this.flushConfirmsBound);
    this.dirtyConfirms.add(channel);
  }

  private flushConfirms(): void {
    for (const ch of this.dirtyConfirms) if (ch.state === 'open') ch.confirms?.flush();
    this.dirtyConfirms.clear();
  }

  /** Removes a consumer from its queue; deletes an auto-delete queue left without consumers. */
  async removeConsumer(consumer: ChannelConsumer): Promise<void> {
    const queue = consumer.queue;
    const autoDelete = await queue.removeConsumer(consumer);
    if (!autoDelete || queue.deleted) return;
    await this.metadata.apply({ op: 'queue.delete', vhost: queue.vhost, name: queue.name, ifUnused: false, ifEmpty: false }).then(
      () => undefined,
      (err) => this.log.warn({ err }, 'auto-delete of queue failed'),
    );
  }

  /** After prefetch grew, lets every queue with a consumer on this channel deliver again. */
  drainChannelQueues(channel: Channel): void {
    for (const c of channel.consumers.values()) c.queue.drain();
  }

  private onWritable(): void {
    this.resumeReading('output');
    this.releaseFlowWaiters();
    for (const ch of this.channels.values()) this.drainChannelQueues(ch);
  }

  private releaseChannels(): void {
    for (const ch of this.channels.values()) {
      ch.releaseResources();
      ch.state = 'closed';
    }
  }

  private teardown(): void {
    if (this.state !== 'closed') this.state = 'closed';
    this.out.close();
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.closeTimer);
    this.releaseChannels();
    this.broker.churn.channelClosed += this.channels.size;
    this.channels.clear();
    this.releaseFlowWaiters();
    for (const name of this.exclusiveQueues) {
      if (!this.vhost) break;
      // Already gone (auto-deleted with its last consumer, or deleted by the client): nothing to clean.
      if (!this.vhost.queues.has(name)) continue;
      this.metadata
        .apply({ op: 'queue.delete', vhost: this.vhost.name, name, ifUnused: false, ifEmpty: false })
        .catch((err) => {
          if (!(err instanceof NotFound)) this.log.warn({ err, queue: name }, 'exclusive queue cleanup failed');
        });
    }
    this.exclusiveQueues.clear();
    this.ctx.onClosed?.(this);
  }
}

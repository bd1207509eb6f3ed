import { ByteReader } from '../protocol/byte-reader';
import { MethodKey, type AmqpMethod, type BasicProperties, type BasicPublish } from '../protocol/methods.generated';
import { decodeRawProperties } from '../protocol/properties';
import { ChannelError, CommandInvalid, FrameErrorReply, NotImplemented, SyntaxErrorReply, PreconditionFailed, UnexpectedFrame, type AmqpError } from '../broker/errors';
import { encodeRouting, Message } from '../broker/message';
import { PublishFrameDecoder } from './publish-frame';
import { handleExchangeMethod } from './handlers/exchange';
import { handleQueueMethod } from './handlers/queue';
import { handleBasicMethod } from './handlers/basic';
import { handleTxMethod } from './handlers/tx';
import { ChannelState, requeueAll } from './channel-state';
import { publish } from './handlers/publish';
import { unregisterReplyConsumer } from './direct-reply-to';

/** Raw properties of a message published without any: shared, never written to. */
const NO_PROPERTIES = Buffer.from([0, 0]);

/** Placeholder of the reused content record between publishes. */
const NO_METHOD: BasicPublish = { ticket: 0, exchange: '', routingKey: '', mandatory: false, immediate: false };

/** Frames a channel holds while waiting on a metadata change before its connection stops being read. */
const HELD_FRAMES_LIMIT = 1000;

/** Bodies at least this large are kept as slices of the read buffer instead of copied. */
const SLICE_BODY_BYTES = 32 * 1024;

/** Copies up to this many bytes by a loop (see copyOf). */
const COPY_LOOP_BYTES = 64;

/** Largest message body accepted (RabbitMQ 4.x max_message_size default). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

interface PendingContent {
  method: BasicPublish;
  /** Decoded (and so checked) properties; undefined when there are none. */
  properties?: BasicProperties;
  routingBytes: Buffer;
  rawProperties: Buffer | null;
  body: Buffer | null;
  bodySize: number;
  received: number;
}

type Frame = { type: number; payload: Buffer };

/**
 * One AMQP channel: assembles publish content and runs methods in order (its consumers,
 * unacked deliveries, prefetch, confirm and tx state are ChannelState's). A method whose handler is
 * asynchronous (a metadata change) holds back the channel's later frames until it settles,
 * because AMQP requires a channel's methods to take effect in order.
 */
export class Channel extends ChannelState {
  /** The method the frame being processed belongs to (basic.publish for its content frames): a close names it. */
  get causeKey(): number {
    if (this.causeInContent) return MethodKey.BasicPublish;
    const b = this.causeBuf;
    return b !== undefined && this.causeEnd - this.causeStart >= 4 ? b.readUInt32BE(this.causeStart) : 0;
  }
  /** What causeKey is read from, only when an error needs it (kept as references: no work per frame). */
  private causeInContent = false;
  private causeBuf: Buffer | undefined;
  private causeStart = 0;
  private causeEnd = 0;
  private content: PendingContent | undefined;
  private readonly contentRecord: PendingContent = { method: NO_METHOD, properties: undefined, routingBytes: NO_PROPERTIES, rawProperties: null, body: null, bodySize: 0, received: 0 };
  private busy = false;
  private readonly publishDecoder = new PublishFrameDecoder();
  private readonly held: Frame[] = [];

  /**
   * Entry point for every frame addressed to this channel (other than channel.close/close-ok):
   * its payload is `buf[start, end)`, a range of the read buffer (see FrameHandler).
   */
  onFrame(type: number, buf: Buffer, start: number, end: number, method: AmqpMethod | null): void {
    if (this.state !== 'open') return;
    if (this.busy) {
      // Held frames keep pointing into read buffers; those are never reused by Node.
      this.held.push({ type, payload: buf.subarray(start, end) });
      if (this.held.length >= HELD_FRAMES_LIMIT) this.connection.pauseReading('held');
      return;
    }
    this.process(type, buf, start, end, method);
  }

  private process(type: number, buf: Buffer, start: number, end: number, method: AmqpMethod | null): void {
    this.causeInContent = this.content !== undefined;
    this.causeBuf = type === 1 ? buf : undefined;
    this.causeStart = start;
    this.causeEnd = end;
    if (type === 1) {
      if (this.content) {
        const expected = this.content.rawProperties ? 'content body' : 'content header for class 60';
        throw new UnexpectedFrame(`expected ${expected}, got non content ${this.content.rawProperties ? 'body' : 'header'} frame instead`);
      }
      if (method === null && end - start >= 4 && buf.readUInt32BE(start) === MethodKey.BasicPublish) {
        const args = this.publishDecoder.decode(buf, start, end);
        this.startPublish(args, this.publishDecoder.routingBytes);
        return;
      }
      this.runMethod(method ?? this.connection.decodeMethod(buf.subarray(start, end)));
    } else if (type === 2) {
      this.onHeader(buf, start, end);
    } else if (type === 3) {
      this.onBody(buf, start, end);
    }
  }

  private runMethod(method: AmqpMethod): void {
    if (method.key === MethodKey.BasicPublish) {
      this.startPublish(method.args, encodeRouting(method.args.exchange, method.args.routingKey));
      return;
    }
    const result = this.dispatch(method);
    if (result) this.holdUntil(result, method.key);
  }

  private startPublish(args: BasicPublish, routingBytes: Buffer): void {
    this.connection.notePublish();
    // One record per channel, reused: a channel assembles one content at a time and nothing keeps the record.
    const c = this.contentRecord;
    c.method = args;
    c.routingBytes = routingBytes;
    c.properties = undefined;
    c.rawProperties = null;
    c.body = null;
    c.bodySize = 0;
    c.received = 0;
    this.content = c;
  }

  private dispatch(method: AmqpMethod): void | Promise<void> {
    switch (method.key >>> 16) {
      case 40:
        return handleExchangeMethod(this, method);
      case 50:
        return handleQueueMethod(this, method);
      case 60:
        return handleBasicMethod(this, method);
      case 85:
      case 90:
        return handleTxMethod(this, method);
      case 20:
        if (method.key === MethodKey.ChannelFlow) {
          if (!method.args.active) throw new NotImplemented('active=false');
          this.connection.out.method(this.id, { key: MethodKey.ChannelFlowOk, args: { active: true } });
          return;
        }
        if (method.key === MethodKey.ChannelOpen) {
          throw new ChannelError(`second 'channel.open' seen`);
        }
        break;
      case 30:
        if (method.key === MethodKey.AccessRequest) {
          this.connection.out.method(this.id, { key: MethodKey.AccessRequestOk, args: { ticket: 1 } });
          return;
        }
        break;
    }
    throw new CommandInvalid(`unimplemented method`);
  }

  private holdUntil(result: Promise<void>, key: number): void {
    this.busy = true;
    result.then(
      () => this.release(),
      (err: unknown) => {
        this.busy = false;
        this.held.length = 0;
        this.connection.resumeReading('held');
        this.connection.handleError(err, this.id, key);
      },
    );
  }

  private release(): void {
    this.busy = false;
    this.connection.resumeReading('held');
    while (!this.busy && this.held.length > 0 && this.state === 'open') {
      const frame = this.held.shift()!;
      try {
        this.process(frame.type, frame.payload, 0, frame.payload.length, null);
      } catch (err) {
        this.held.length = 0;
        this.connection.resumeReading('held');
        this.connection.handleError(err, this.id, this.causeKey);
      }
    }
  }

  private onHeader(buf: Buffer, start: number, end: number): void {
    const c = this.content;
    if (!c) throw new UnexpectedFrame('expected method frame, got non method frame instead');
    if (c.rawProperties) throw new UnexpectedFrame('expected content body, got non content body frame instead');
    const length = end - start;
    // class (2), weight (2), body size (8), property flags and list
    if (length < 12) {
      // Too short for the fixed fields: the reader throws the truncation error.
      const r = new ByteReader(buf, start, end);
      r.u16();
      r.u16();
      r.u64();
    }
    const classId = buf.readUInt16BE(start);
    const bodySize = buf.readUInt32BE(start + 4) * 0x100000000 + buf.readUInt32BE(start + 8);
    if (classId !== 60 || length < 14) throw new UnexpectedFrame(`expected content header for class 60, got one for class ${classId} instead`);
    if (bodySize > MAX_MESSAGE_BYTES) {
      this.content = undefined;
      throw new PreconditionFailed(`message size ${bodySize} is larger than configured max size ${MAX_MESSAGE_BYTES}`);
    }
    if (length === 14 && buf[start + 12] === 0 && buf[start + 13] === 0) {
      c.rawProperties = NO_PROPERTIES;
    } else {
      c.rawProperties = copyOf(buf, start + 12, end);
      c.properties = checkedProperties(c.rawProperties);
    }
    c.bodySize = bodySize;
    if (bodySize === 0) this.completeContent(c, Buffer.alloc(0));
  }

  private onBody(buf: Buffer, start: number, end: number): void {
    const c = this.content;
    if (!c) throw new UnexpectedFrame('expected method frame, got non method frame instead');
    if (!c.rawProperties) throw new UnexpectedFrame('expected content header for class 60, got non content header frame instead');
    const length = end - start;
    if (c.received + length > c.bodySize) throw new FrameErrorReply('content body frame exceeds remaining content size');
    if (c.received === 0 && length === c.bodySize) {
      // Small bodies are copied so a queued message does not pin a whole read buffer;
      // large ones fill most of that buffer anyway and are kept as a slice.
      this.completeContent(c, length >= SLICE_BODY_BYTES ? buf.subarray(start, end) : copyOf(buf, start, end));
      return;
    }
    // The buffer grows with what has arrived, never straight to the announced size: a client
    // announcing 16 MiB bodies on every channel and sending nothing must not cost 16 MiB each.
    const needed = c.received + length;
    if (!c.body || c.body.length < needed) {
      const grown = Buffer.allocUnsafe(Math.min(c.bodySize, Math.max(needed, 2 * (c.body?.length ?? 0), 64 * 1024)));
      if (c.body) c.body.copy(grown, 0, 0, c.received);
      c.body = grown;
    }
    buf.copy(c.body, c.received, start, end);
    c.received += length;
    if (c.received === c.bodySize) this.completeContent(c, c.body);
  }

  private completeContent(c: PendingContent, body: Buffer): void {
    this.content = undefined;
    // RabbitMQ refuses immediate once the content is complete, as it does every publish error.
    if (c.method.immediate) throw new NotImplemented('immediate=true');
    const message = new Message(c.method.exchange, c.method.routingKey, c.rawProperties!, body, c.routingBytes, c.properties);
    publish(this, c.method, message);
  }

  /** Closes the channel because of a soft error: channel.close goes out, resources are released. */
  closeWithError(err: AmqpError, classId: number, methodId: number): void {
    if (this.state !== 'open') return;
    this.connection.out.method(this.id, {
      key: MethodKey.ChannelClose,
      args: { replyCode: err.replyCode, replyText: err.replyText.slice(0, 255), classId, methodId },
    });
    this.state = 'closing';
    this.releaseResources();
  }

  /** Cancels consumers and requeues unacked deliveries (channel closed, or connection gone). */
  releaseResources(): void {
    this.content = undefined;
    this.held.length = 0;
    this.connection.resumeReading('held');
    if (this.replyConsumer) unregisterReplyConsumer(this.replyConsumer);
    if (this.confirms && this.connection.vhost) this.connection.vhost.forgetWaiter(this.confirms);
    this.replyConsumer = undefined;
    for (const consumer of this.consumers.values()) void this.connection.removeConsumer(consumer);
    this.consumers.clear();
    requeueAll(this.unacked.takeAll());
  }
}

/**
 * Decodes a publisher's properties once, at the content header: bytes that do not match
 * their flags are a 502 SYNTAX_ERROR there, instead of an error later wherever a property
 * is first read (routing on headers, dead lettering).
 */
function checkedProperties(raw: Buffer): BasicProperties {
  // Bits 1 and 0 of the flags are unused by the basic class (bit 0 would announce a second flags word).
  if (raw.length < 2 || (raw.readUInt16BE(0) & 0x3) !== 0) throw new SyntaxErrorReply('malformed content header: invalid property flags');
  try {
    return decodeRawProperties(raw);
  } catch (err) {
    throw new SyntaxErrorReply(`malformed content header properties: ${(err as Error).message}`);
  }
}

/** A copy of `buf[start, end)`; short runs by a loop, which beats the native copy's call cost. */
function copyOf(buf: Buffer, start: number, end: number): Buffer {
  const length = end - start;
  const out = Buffer.allocUnsafe(length);
  if (length <= COPY_LOOP_BYTES) {
    for (let i = 0; i < length; i++) out[i] = buf[start + i];
  } else {
    buf.copy(out, 0, start, end);
  }
  return out;
}

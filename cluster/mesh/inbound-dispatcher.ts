/**
 * Channel handlers and the delivery of inbound MESSAGE and REQUEST frames to them. A
 * handler that throws (or rejects) never takes the node down: for a message it is
 * logged, for a request it becomes an error response.
 */
import type { Logger } from '../../src/log/logger';
import { ResponseStatus } from './frame-codec';
import type { Link } from './link';
import { MeshError } from './mesh-errors';

/**
 * Receives what peers send on one channel. For send(): the return value is ignored. For
 * request(): the return value (or what its promise resolves to) is the response;
 * undefined means an empty response. `payload` is a view into the received batch: keep
 * it if you like, it is not reused, but do not write into it.
 */
export type MeshHandler = (from: string, payload: Buffer) => void | Uint8Array | PromiseLike<void | Uint8Array>;

type Respond = (link: Link, id: number, status: number, payload: Buffer) => void;

const EMPTY = Buffer.alloc(0);
/** Error texts sent back are cut to this length. */
const MAX_ERROR_TEXT = 1024;

export class InboundDispatcher {
  private readonly handlers = new Map<string, MeshHandler>();
  private unhandled = 0;
  private failures = 0;

  constructor(
    private readonly log: Logger,
    private readonly respond: Respond,
  ) {}

  /** Throws when the channel has a handler already. */
  register(channel: string, handler: MeshHandler): () => void {
    if (this.handlers.has(channel)) throw new Error(`mesh: channel ${channel} already has a handler`);
    this.handlers.set(channel, handler);
    return () => {
      if (this.handlers.get(channel) === handler) this.handlers.delete(channel);
    };
  }

  message(from: string, channel: string, payload: Buffer): void {
    const handler = this.handlers.get(channel);
    if (handler === undefined) {
      if (this.unhandled++ % 1000 === 0) this.log.warn({ from, channel, count: this.unhandled }, 'message on a channel without handler dropped');
      return;
    }
    try {
      const result = handler(from, payload);
      if (isThenable(result)) result.then(undefined, (err: unknown) => this.handlerFailed(from, channel, err));
    } catch (err) {
      this.handlerFailed(from, channel, err);
    }
  }

  request(link: Link, id: number, channel: string, payload: Buffer): void {
    const from = link.peerName;
    const handler = this.handlers.get(channel);
    if (handler === undefined) {
      this.respond(link, id, ResponseStatus.NO_HANDLER, Buffer.from(`no handler for channel ${channel} on this node`, 'utf8'));
      return;
    }
    let result: ReturnType<MeshHandler>;
    try {
      result = handler(from, payload);
    } catch (err) {
      this.handlerFailed(from, channel, err);
      this.respond(link, id, ResponseStatus.ERROR, errorText(err));
      return;
    }
    if (!isThenable(result)) {
      this.respondValue(link, id, channel, result);
      return;
    }
    result.then(
      (value) => this.respondValue(link, id, channel, value),
      (err: unknown) => {
        this.handlerFailed(from, channel, err);
        this.respond(link, id, ResponseStatus.ERROR, errorText(err));
      },
    );
  }

  private respondValue(link: Link, id: number, channel: string, value: void | Uint8Array): void {
    let payload: Buffer;
    try {
      payload = toBuffer(value);
    } catch (err) {
      this.handlerFailed(link.peerName, channel, err);
      this.respond(link, id, ResponseStatus.ERROR, errorText(err));
      return;
    }
    this.respond(link, id, ResponseStatus.OK, payload);
  }

  /** The error a RESPONSE frame carries, or undefined for OK. */
  responseError(status: number, payload: Buffer, peer: string): MeshError | undefined {
    if (status === ResponseStatus.OK) return undefined;
    const text = payload.toString('utf8');
    if (status === ResponseStatus.NO_HANDLER) return new MeshError('NO_HANDLER', text, peer);
    return new MeshError('REMOTE_ERROR', text, peer);
  }

  private handlerFailed(from: string, channel: string, err: unknown): void {
    // Logged at warn, but only now and then: a handler failing per message must not flood.
    if (this.failures++ % 100 === 0) this.log.warn({ err, from, channel, failures: this.failures }, 'mesh handler threw');
  }
}

function isThenable(value: unknown): value is PromiseLike<void | Uint8Array> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

function toBuffer(value: void | Uint8Array): Buffer {
  if (value === undefined) return EMPTY;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError('mesh request handler must return a Buffer, a Uint8Array or nothing');
}

function errorText(err: unknown): Buffer {
  const text = err instanceof Error ? err.message : String(err);
  return Buffer.from(text.length > MAX_ERROR_TEXT ? text.slice(0, MAX_ERROR_TEXT) : text, 'utf8');
}

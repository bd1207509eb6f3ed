import { connect, type Socket } from 'node:net';
import {
  DEFAULT_EPMD_PORT,
  EpmdCode,
  NodeType,
  decodeAlive2Response,
  decodeNamesResponse,
  decodePort2Response,
  encodeAlive2Request,
  encodePortPlease2Request,
  encodeSimpleRequest,
  type NodeEntry,
} from './epmd-codec';
import { PortMapperError } from './port-mapper-errors';

/** Where the port mapper is and how long to wait for it. */
export interface PortMapperAddress {
  /** Port mapper port; default 4369. */
  epmdPort?: number;
  /** Whole-request timeout (connect and reply); default 5000 ms. */
  timeoutMs?: number;
}

export interface RegisterOptions extends PortMapperAddress {
  /** Host of the port mapper; it only accepts registrations from its own host. Default 127.0.0.1. */
  host?: string;
  /** Default NodeType.NORMAL. */
  nodeType?: number;
  /** Distribution protocol versions; default 6..6 (OTP 25 and later). */
  highestVersion?: number;
  lowestVersion?: number;
  /** Opaque bytes returned to whoever looks the name up. */
  extra?: Buffer;
}

/**
 * A live registration. The name stays registered exactly as long as this
 * connection stays open.
 */
export interface RegistrationHandle {
  readonly name: string;
  readonly port: number;
  /** Creation number the port mapper assigned. */
  readonly creation: number;
  /** Resolves when the registration ends, by `close()` or because the connection was lost. */
  readonly closed: Promise<void>;
  /** True once the connection ended without `close()` being called (the port mapper went away). */
  readonly lost: boolean;
  /** Unregisters by closing the connection. Idempotent. */
  close(): Promise<void>;
}

/** What PORT_PLEASE2 returns for a registered name. */
export type PortInfo = NodeEntry;

/** What NAMES returns. */
export interface NamesReply {
  /** The port the port mapper says it listens on. */
  epmdPort: number;
  nodes: { name: string; port: number }[];
}

/**
 * Registers `name` (the alive part of `name@host`) with distribution port `port`.
 * Rejects with PortMapperError NAME_TAKEN when the name is registered already,
 * PORT_MAPPER_UNAVAILABLE when no port mapper answers.
 */
export async function register(name: string, port: number, opts: RegisterOptions = {}): Promise<RegistrationHandle> {
  const entry: NodeEntry = {
    name,
    port,
    nodeType: opts.nodeType ?? NodeType.NORMAL,
    protocol: 0,
    highestVersion: opts.highestVersion ?? 6,
    lowestVersion: opts.lowestVersion ?? 6,
    extra: opts.extra ?? Buffer.alloc(0),
  };
  const host = opts.host ?? '127.0.0.1';
  const socket = await openSocket(host, opts.epmdPort ?? DEFAULT_EPMD_PORT, opts.timeoutMs ?? 5000);
  let reply: { ok: boolean; creation: number };
  try {
    reply = await readReply(socket, encodeAlive2Request(entry), opts.timeoutMs ?? 5000, (bytes) => decodeAlive2Response(bytes));
  } catch (err) {
    socket.destroy();
    throw err;
  }
  if (!reply.ok) {
    socket.destroy();
    throw new PortMapperError('NAME_TAKEN', `node name ${name} is already registered with the port mapper`);
  }
  return new Registration(socket, name, port, reply.creation);
}

class Registration implements RegistrationHandle {
  readonly closed: Promise<void>;
  private closing = false;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    readonly name: string,
    readonly port: number,
    readonly creation: number,
  ) {
    socket.setKeepAlive(true);
    // Keep reading, so that the port mapper's close is seen at once.
    socket.resume();
    // The port mapper sends nothing more; errors only mean the registration is gone.
    socket.on('error', () => {});
    this.closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        resolve();
      }),
    );
  }

  get lost(): boolean {
    return this.ended && !this.closing;
  }

  close(): Promise<void> {
    this.closing = true;
    this.socket.destroy();
    return this.closed;
  }
}

/**
 * Asks `host`'s port mapper for `name`'s distribution port (PORT_PLEASE2_REQ).
 * Resolves undefined when the name is not registered there.
 */
export async function lookupPort(host: string, name: string, opts: PortMapperAddress = {}): Promise<PortInfo | undefined> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const socket = await openSocket(host, opts.epmdPort ?? DEFAULT_EPMD_PORT, timeoutMs);
  try {
    return await readReply(socket, encodePortPlease2Request(name), timeoutMs, (bytes) => decodePort2Response(bytes));
  } finally {
    socket.destroy();
  }
}

/** Lists the names registered with `host`'s port mapper (NAMES_REQ). */
export async function names(host: string, opts: PortMapperAddress = {}): Promise<NamesReply> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const socket = await openSocket(host, opts.epmdPort ?? DEFAULT_EPMD_PORT, timeoutMs);
  try {
    // The reply ends when the port mapper closes the connection.
    const bytes = await readUntilEnd(socket, encodeSimpleRequest(EpmdCode.NAMES_REQ), timeoutMs);
    try {
      return decodeNamesResponse(bytes);
    } catch (err) {
      throw new PortMapperError('PROTOCOL_ERROR', (err as Error).message, { cause: err });
    }
  } finally {
    socket.destroy();
  }
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => fail(new Error(`connect timed out after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new PortMapperError('PORT_MAPPER_UNAVAILABLE', `no port mapper at ${host}:${port}: ${err.message}`, { cause: err }));
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

type Decoder<T> = (bytes: Buffer) => { done: false } | { done: true; value: T };

/** Writes `request` and reads until `decode` has a complete reply. */
function readReply<T>(socket: Socket, request: Buffer, timeoutMs: number, decode: Decoder<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (err: Error | undefined, value?: T) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(value as T);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        const result = decode(buffered);
        if (result.done) finish(undefined, result.value);
      } catch (err) {
        finish(new PortMapperError('PROTOCOL_ERROR', (err as Error).message, { cause: err }));
      }
    };
    const onError = (err: Error) =>
      finish(new PortMapperError('PORT_MAPPER_UNAVAILABLE', `port mapper connection failed: ${err.message}`, { cause: err }));
    const onClose = () => finish(new PortMapperError('PROTOCOL_ERROR', 'port mapper closed the connection before replying'));
    const timer = setTimeout(
      () => finish(new PortMapperError('PORT_MAPPER_UNAVAILABLE', `port mapper did not reply within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(request);
  });
}

/** Writes `request` and collects everything until the peer closes. */
function readUntilEnd(socket: Socket, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PortMapperError('PORT_MAPPER_UNAVAILABLE', `port mapper did not finish its reply within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new PortMapperError('PORT_MAPPER_UNAVAILABLE', `port mapper connection failed: ${err.message}`, { cause: err }));
    });
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.write(request);
  });
}

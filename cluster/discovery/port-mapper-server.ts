import { createServer, isIPv4, type AddressInfo, type Server, type Socket } from 'node:net';
import { logger, type Logger } from '../../src/log/logger';
import {
  DEFAULT_EPMD_PORT,
  EpmdCode,
  MAX_REQUEST_BYTES,
  decodeRequest,
  encodeAlive2Response,
  encodePort2Response,
  encodePortHeader,
  namesLine,
  type EpmdRequest,
} from './epmd-codec';
import { PortMapperRegistry } from './port-mapper-registry';

/** What KILL_REQ may do. */
export type KillPolicy =
  /** Always answer `NO` (a port mapper embedded in a Warren node). */
  | 'refuse'
  /** Answer `OK` and stop when no node is registered, as epmd does (the standalone daemon). */
  | 'when-idle';

export interface PortMapperServerOptions {
  /** TCP port; default 4369. 0 picks a free one (see `port` after `listen`). */
  port?: number;
  /** Address to listen on; default all interfaces (IPv6 and IPv4). */
  host?: string;
  /** A connection that is not a registration is closed after this long idle; default 60 s, as epmd. */
  idleTimeoutMs?: number;
  /** Connections beyond this are closed at once; default 1024. */
  maxConnections?: number;
  /** Default 'refuse'. */
  killPolicy?: KillPolicy;
  /**
   * epmd's -relaxed_command_check: KILL_REQ succeeds even with nodes registered,
   * and STOP_REQ may unregister a node. Default false.
   */
  relaxedCommandCheck?: boolean;
  /** Called once after a KILL_REQ was accepted and the server has closed. */
  onKilled?: () => void;
  logger?: Logger;
}

/** Per-connection state. */
interface Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly localPeer: boolean;
  buffered: Buffer;
  /** Holds a registration: stays open, and any further byte ends it. */
  registered: boolean;
  /** A one-shot request was answered; further input is ignored. */
  answered: boolean;
}

/**
 * A port mapper speaking EPMD's wire protocol: Erlang nodes, `epmd -names` and
 * Warren's own client all work against it. One request per connection, except
 * ALIVE2_REQ, whose connection holds the registration for as long as it stays open.
 *
 * Garbage (bad length, unknown code, malformed body) closes the offending
 * connection and nothing else. Registration, DUMP, KILL and STOP are only
 * accepted from the local host, as epmd does.
 */
export class PortMapperServer {
  private readonly server: Server;
  private readonly registry = new PortMapperRegistry<Connection>();
  private readonly connections = new Set<Connection>();
  private readonly log: Logger;
  private readonly idleTimeoutMs: number;
  private readonly maxConnections: number;
  private nextConnectionId = 1;
  private listeningPort = 0;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: PortMapperServerOptions = {}) {
    this.log = (options.logger ?? logger).child({ module: 'port-mapper' });
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.maxConnections = options.maxConnections ?? 1024;
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.warn({ err }, 'port mapper listener error'));
  }

  /** Starts listening. Rejects (e.g. with code EADDRINUSE) when the port cannot be bound. */
  async listen(): Promise<void> {
    const port = this.options.port ?? DEFAULT_EPMD_PORT;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ port, host: this.options.host, exclusive: true }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.listeningPort = (this.server.address() as AddressInfo).port;
    this.log.info({ port: this.listeningPort }, 'port mapper listening');
  }

  /** The bound port (valid after `listen`). */
  get port(): number {
    return this.listeningPort;
  }

  /** Live registrations, newest first. */
  registrations(): { name: string; port: number; creation: number }[] {
    return this.registry.list().map((r) => ({ name: r.entry.name, port: r.entry.port, creation: r.creation }));
  }

  /** Stops listening and drops every connection (so every registration). Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        for (const connection of this.connections) connection.socket.destroy();
      });
    }
    return this.closing;
  }

  private accept(socket: Socket): void {
    if (this.closing || this.connections.size >= this.maxConnections) {
      socket.destroy();
      return;
    }
    const connection: Connection = {
      id: this.nextConnectionId++,
      socket,
      localPeer: isLocalPeer(socket),
      buffered: Buffer.alloc(0),
      registered: false,
      answered: false,
    };
    this.connections.add(connection);
    socket.setNoDelay(true);
    socket.setTimeout(this.idleTimeoutMs, () => {
      if (!connection.registered) socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', (err) => this.log.debug({ err, connection: connection.id }, 'port mapper connection error'));
    socket.on('close', () => this.onClose(connection));
  }

  private onClose(connection: Connection): void {
    this.connections.delete(connection);
    for (const name of this.registry.unregisterOwner(connection)) {
      this.log.debug({ name }, 'node unregistered');
    }
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.registered) {
      // The registration connection carries nothing after ALIVE2: anything more ends it.
      this.drop(connection, 'data after registration');
      return;
    }
    if (connection.answered) return;
    const buffered = connection.buffered.length === 0 ? chunk : Buffer.concat([connection.buffered, chunk]);
    if (buffered.length < 2) {
      connection.buffered = buffered;
      return;
    }
    const length = buffered.readUInt16BE(0);
    if (length < 1 || length > MAX_REQUEST_BYTES) {
      this.drop(connection, 'bad request length');
      return;
    }
    if (buffered.length < 2 + length) {
      connection.buffered = buffered;
      return;
    }
    connection.buffered = Buffer.alloc(0);
    const trailing = buffered.length > 2 + length;
    const request = decodeRequest(buffered.subarray(2, 2 + length));
    if (request.code === EpmdCode.ALIVE2_REQ && trailing) {
      this.drop(connection, 'data after registration');
      return;
    }
    this.handle(connection, request);
  }

  private handle(connection: Connection, request: EpmdRequest): void {
    const { socket } = connection;
    switch (request.code) {
      case 'invalid':
        this.drop(connection, request.reason);
        return;
      case EpmdCode.ALIVE2_REQ: {
        if (!connection.localPeer) return this.drop(connection, 'registration from a remote host');
        const registration = this.registry.register(request.entry, connection);
        const reply = encodeAlive2Response(request.entry.highestVersion, registration !== undefined, registration?.creation ?? 0);
        if (!registration) {
          this.log.info({ name: request.entry.name }, 'node name already registered');
          return this.answer(connection, reply);
        }
        socket.write(reply);
        connection.registered = true;
        socket.setTimeout(0);
        socket.setKeepAlive(true);
        this.log.debug({ name: request.entry.name, port: request.entry.port, creation: registration.creation }, 'node registered');
        return;
      }
      case EpmdCode.PORT_PLEASE2_REQ:
        return this.answer(connection, encodePort2Response(this.registry.lookup(request.name)?.entry));
      case EpmdCode.NAMES_REQ: {
        const lines = this.registry.list().map((r) => namesLine(r.entry.name, r.entry.port));
        return this.answer(connection, Buffer.concat([encodePortHeader(this.port), Buffer.from(lines.join(''), 'utf8')]));
      }
      case EpmdCode.DUMP_REQ:
        if (!connection.localPeer) return this.drop(connection, 'DUMP from a remote host');
        return this.answer(connection, this.dump());
      case EpmdCode.KILL_REQ:
        return this.kill(connection);
      case EpmdCode.STOP_REQ: {
        if (!connection.localPeer || !this.options.relaxedCommandCheck) return this.drop(connection, 'STOP refused');
        const registration = this.registry.unregisterName(request.name);
        registration?.owner.socket.destroy();
        return this.answer(connection, Buffer.from(registration ? 'STOPPED' : 'NOEXIST', 'ascii'));
      }
    }
  }

  private kill(connection: Connection): void {
    if (!connection.localPeer) return this.drop(connection, 'KILL from a remote host');
    const policy = this.options.killPolicy ?? 'refuse';
    const allowed = policy === 'when-idle' && (this.registry.size === 0 || this.options.relaxedCommandCheck === true);
    if (!allowed) return this.answer(connection, Buffer.from('NO', 'ascii'));
    this.log.info('port mapper killed by request');
    connection.answered = true;
    connection.socket.end(Buffer.from('OK', 'ascii'), () => {
      void this.close().then(() => this.options.onKilled?.());
    });
  }

  /** DUMP reply: active and remembered names, each line followed by a NUL as epmd writes them. */
  private dump(): Buffer {
    let text = '';
    for (const r of this.registry.list()) {
      text += `active name     <${r.entry.name}> at port ${r.entry.port}, fd = ${r.owner.id}\n\0`;
    }
    for (const r of this.registry.listRemembered()) {
      text += `old/unused name <${r.entry.name}>, port = ${r.entry.port}, fd = 0 \n\0`;
    }
    return Buffer.concat([encodePortHeader(this.port), Buffer.from(text, 'utf8')]);
  }

  private answer(connection: Connection, reply: Buffer): void {
    connection.answered = true;
    connection.socket.end(reply);
  }

  private drop(connection: Connection, reason: string): void {
    this.log.debug({ connection: connection.id, reason }, 'port mapper dropped connection');
    connection.answered = true;
    connection.socket.destroy();
  }
}

/** True for loopback peers and for peers whose address is our own, as epmd judges. */
export function isLocalPeer(socket: Socket): boolean {
  const remote = unmapIPv4(socket.remoteAddress ?? '');
  const local = unmapIPv4(socket.localAddress ?? '');
  if (remote === '') return false;
  if (remote === '::1' || (isIPv4(remote) && remote.startsWith('127.'))) return true;
  return remote === local;
}

function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

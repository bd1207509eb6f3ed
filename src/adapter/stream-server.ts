import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ChurnCounters } from '../broker/message-stats';

/** A connection a StreamServer serves: shut down when the listener closes. */
export interface ServedConnection {
  shutdown(): void;
}

/**
 * The listener part MQTT and STOMP share: plain or TLS sockets on a port, streams from other
 * transports (their WebSocket variants) through handle(), the open connections (listed by
 * the management API) and churn counted with AMQP's, as RabbitMQ counts its plugins'.
 */
export abstract class StreamServer<C extends ServedConnection> {
  readonly connections = new Set<C>();
  private readonly servers: Server[] = [];

  constructor(private readonly churn: ChurnCounters) {}

  /** Creates the protocol's connection over `stream`; it calls `closed` once when it ends. */
  protected abstract open(stream: Duplex, remoteAddress: string | undefined, closed: (c: C) => void): C;

  /** Serves one client over `stream`. */
  handle(stream: Duplex, remoteAddress: string | undefined): C {
    const c = this.open(stream, remoteAddress, (closed) => {
      if (this.connections.delete(closed)) this.churn.connectionClosed++;
    });
    this.connections.add(c);
    this.churn.connectionCreated++;
    return c;
  }

  /** Listens on `port`; with `tls`, connections are TLS first (the same settings as AMQPS). */
  listen(host: string, port: number, tls?: { options: TlsOptions; handshakeTimeoutMs: number }): Promise<void> {
    const accept = (socket: Socket) => {
      socket.setNoDelay(true);
      this.handle(socket, socket.remoteAddress);
    };
    const server = tls ? createTlsServer({ ...tls.options, handshakeTimeout: tls.handshakeTimeoutMs }, accept) : createServer(accept);
    if (tls) server.on('tlsClientError', () => undefined);
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Shuts every connection down and stops listening. */
  async close(): Promise<void> {
    for (const c of this.connections) c.shutdown();
    await this.closeListeners();
  }

  protected async closeListeners(): Promise<void> {
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

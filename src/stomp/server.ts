import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { StompContext } from './context';
import { StompConnection } from './connection';

/** The STOMP listener; handle() also serves STOMP over other transports (Web-STOMP). */
export class StompServer {
  readonly connections = new Set<StompConnection>();

  constructor(private readonly ctx: StompContext) {}

  /** Serves one STOMP client over `stream`. */
  handle(stream: Duplex, remoteAddress: string | undefined): StompConnection {
    // Counted with AMQP's in the management churn figures, as RabbitMQ counts its plugins' connections.
    const churn = this.ctx.broker.churn;
    const c = new StompConnection(stream, remoteAddress, this.ctx, (closed) => {
      if (this.connections.delete(closed)) churn.connectionClosed++;
    });
    this.connections.add(c);
    churn.connectionCreated++;
    return c;
  }

  private readonly servers: Server[] = [];

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

  async close(): Promise<void> {
    for (const c of this.connections) c.shutdown();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { StompContext } from './context';
import { StompConnection } from './connection';

/** The STOMP listener; handle() also serves STOMP over other transports (Web-STOMP). */
export class StompServer {
  readonly connections = new Set<StompConnection>();
  private server: Server | undefined;

  constructor(private readonly ctx: StompContext) {}

  /** Serves one STOMP client over `stream`. */
  handle(stream: Duplex, remoteAddress: string | undefined): StompConnection {
    const c = new StompConnection(stream, remoteAddress, this.ctx, (closed) => this.connections.delete(closed));
    this.connections.add(c);
    return c;
  }

  listen(host: string, port: number): Promise<void> {
    this.server = createServer((socket: Socket) => {
      socket.setNoDelay(true);
      this.handle(socket, socket.remoteAddress);
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.shutdown();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

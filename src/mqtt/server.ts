import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MqttContext } from './context';
import { MqttConnection } from './connection';

/** The MQTT listener; handle() also serves MQTT streams from other transports (Web-MQTT). */
export class MqttServer {
  readonly connections = new Set<MqttConnection>();
  private server: Server | undefined;

  constructor(private readonly ctx: MqttContext) {}

  /** Serves one MQTT client over `stream`. */
  handle(stream: Duplex, remoteAddress: string | undefined): MqttConnection {
    const c = new MqttConnection(stream, remoteAddress, this.ctx, (closed) => this.connections.delete(closed));
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
    this.ctx.clients.closeAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.ctx.retained.close();
  }
}

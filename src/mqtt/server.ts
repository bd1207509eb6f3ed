import type { Duplex } from 'node:stream';
import { StreamServer } from '../adapter/stream-server';
import type { MqttContext } from './context';
import { MqttConnection } from './connection';

/** The MQTT listener; handle() also serves MQTT streams from other transports (Web-MQTT). */
export class MqttServer extends StreamServer<MqttConnection> {
  constructor(private readonly ctx: MqttContext) {
    super(ctx.broker.churn);
  }

  protected open(stream: Duplex, remoteAddress: string | undefined, closed: (c: MqttConnection) => void): MqttConnection {
    return new MqttConnection(stream, remoteAddress, this.ctx, closed);
  }

  /** Shuts the connections down, forgets the client ids and closes the retained store. */
  override async close(): Promise<void> {
    for (const c of this.connections) c.shutdown();
    this.ctx.clients.closeAll();
    await this.closeListeners();
    this.ctx.retained.close();
  }
}

import type { Duplex } from 'node:stream';
import { StreamServer } from '../adapter/stream-server';
import type { StompContext } from './context';
import { StompConnection } from './connection';

/** The STOMP listener; handle() also serves STOMP over other transports (Web-STOMP). */
export class StompServer extends StreamServer<StompConnection> {
  constructor(private readonly ctx: StompContext) {
    super(ctx.broker.churn);
  }

  protected open(stream: Duplex, remoteAddress: string | undefined, closed: (c: StompConnection) => void): StompConnection {
    return new StompConnection(stream, remoteAddress, this.ctx, closed);
  }
}

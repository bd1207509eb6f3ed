// The broker the consumer-timeout tests share: their own node with a 1 s consumer timeout
// (swept every 250 ms) and management on a free loopback port, started before the calling
// describe's tests and stopped after them, its amqplib connections closed first.
import { after, before } from 'node:test';
import * as amqp from 'amqplib';
import { startBroker, type BrokerProcess } from '../helpers/broker-process';
import { freePort } from '../helpers/free-port';

export const TIMEOUT_MS = 1000;

/** Why these tests skip: a shared external broker has no short timeout. */
export const timeoutBrokerSkip = process.env.WARREN_TEST_URL ? 'needs its own broker with a short timeout' : false;

export interface TimeoutBroker {
  /** The management API's port (only inside tests: it is chosen by the before hook). */
  readonly mgmtPort: number;
  /** An amqplib connection to the node, closed after the tests. */
  connect(socketOptions?: object): Promise<amqp.ChannelModel>;
}

export function useTimeoutBroker(): TimeoutBroker {
  let broker: BrokerProcess | undefined;
  let mgmtPort = 0;
  const conns: amqp.ChannelModel[] = [];
  before(async () => {
    mgmtPort = await freePort();
    broker = await startBroker({ env: { WARREN_CONSUMER_TIMEOUT: String(TIMEOUT_MS), WARREN_MGMT_PORT: String(mgmtPort), WARREN_MGMT_IP: '127.0.0.1' } });
  });
  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    await broker?.stop();
  });
  return {
    get mgmtPort() {
      return mgmtPort;
    },
    async connect(socketOptions?: object) {
      if (!broker) throw new Error('the timeout broker is used before it started');
      const c = await amqp.connect(broker.url, socketOptions);
      c.on('error', () => undefined);
      conns.push(c);
      return c;
    },
  };
}

// One broker per test file: started (or WARREN_TEST_URL targeted) before the file's tests, stopped after them.
import { after, before } from 'node:test';
import { startBroker, type BrokerProcess } from './broker-process';
import { Clients } from './amqp-test';

export interface BrokerFixtureOptions {
  /** Runs first in the after hook, before the amqplib connections close and the broker stops (e.g. other clients). */
  beforeClose?: () => Promise<unknown>;
}

/**
 * Starts a broker for the calling test file, then runs ready(clients) (one root hook, so the order is certain,
 * e.g. to open a connection the file's tests share), and after the file closes every amqplib connection opened
 * through `clients` and stops the broker. `broker()` is valid once the before hook has run.
 */
export function brokerFixture(
  ready?: (clients: Clients) => Promise<void>,
  opts: BrokerFixtureOptions = {},
): {
  clients: Clients;
  broker: () => BrokerProcess;
} {
  let broker: BrokerProcess | undefined;
  const clients = new Clients(() => broker!);
  before(async () => {
    broker = await startBroker();
    await ready?.(clients);
  });
  after(async () => {
    await opts.beforeClose?.();
    await clients.closeAll();
    await broker?.stop();
  });
  return { clients, broker: () => broker! };
}

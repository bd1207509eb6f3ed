// A STOMP SEND receipt means the message is safe: persistent messages to a durable queue survive kill -9.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { uniqueName } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { RawStomp } from './raw-stomp';

let broker: ProtocolBroker;
after(async () => {
  await broker.stop();
});

it('every persistent message whose SEND receipt arrived is back after kill -9', async () => {
  broker = await startProtocolBroker();
  const q = uniqueName('safe');
  const c = await RawStomp.login(broker.stompPort);
  for (let i = 0; i < 50; i++) await c.withReceipt('SEND', { destination: `/queue/${q}`, persistent: 'true' }, `m${i}`);
  c.close();
  const { dataDir, mqttPort, stompPort, webMqttPort, webStompPort } = broker;
  await broker.kill();
  broker = await startProtocolBroker({ dataDir, ports: { mqttPort, stompPort, webMqttPort, webStompPort } });
  const back = await RawStomp.login(broker.stompPort);
  await back.withReceipt('SUBSCRIBE', { destination: `/queue/${q}`, id: 's' });
  const bodies: string[] = [];
  for (let i = 0; i < 50; i++) bodies.push((await back.next('MESSAGE')).body);
  assert.deepEqual(bodies, Array.from({ length: 50 }, (_, i) => `m${i}`));
  back.close();
});

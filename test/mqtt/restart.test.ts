// What an MQTT client is promised across a broker restart: retained messages, persistent sessions, and
// QoS 1 publishes acknowledged (PUBACK) only once they are on disk.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { waitFor, sleep } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { MqttClients, uniqueName } from './mqtt-support';

let broker: ProtocolBroker;
const clients = new MqttClients(() => broker);
after(async () => {
  await clients.closeAll();
  await broker.stop();
});

it('keeps retained messages and persistent sessions (with every PUBACKed message) through kill -9', async () => {
  broker = await startProtocolBroker();
  const topic = `${uniqueName('keep')}/state`;
  const sessionTopic = uniqueName('sess');
  const clientId = uniqueName('durable');
  const session = await clients.connect({ protocolVersion: 4, clientId, clean: false });
  await session.subscribeAsync(sessionTopic, { qos: 1 });
  await session.endAsync();
  const pub = await clients.connect({ protocolVersion: 4 });
  await pub.publishAsync(topic, 'kept', { qos: 1, retain: true });
  for (let i = 0; i < 50; i++) await pub.publishAsync(sessionTopic, `m${i}`, { qos: 1 });
  // Retained messages are appended to their log in the turn after the publish; give it one.
  await sleep(50);
  await clients.closeAll();
  const { dataDir, mqttPort, stompPort, webMqttPort, webStompPort } = broker;
  await broker.kill();
  broker = await startProtocolBroker({ dataDir, ports: { mqttPort, stompPort, webMqttPort, webStompPort } });
  const sub = await clients.connect({ protocolVersion: 4 });
  await sub.subscribeAsync(topic, { qos: 1 });
  await waitFor(() => sub.received.length === 1, 5000, 'retained message after restart');
  assert.equal(sub.received[0].payload, 'kept');
  const back = await clients.connect({ protocolVersion: 4, clientId, clean: false });
  await waitFor(() => back.received.length === 50, 5000, 'the 50 acknowledged messages');
  assert.deepEqual(back.received.map((r) => r.payload), Array.from({ length: 50 }, (_, i) => `m${i}`));
});

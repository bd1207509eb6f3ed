// The protocol listeners are on by default on the ports RabbitMQ uses; a second node on one host
// that keeps them still starts (AMQP), with the taken listeners off and said so in its log.
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { Clients, waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';

const brokers: ProtocolBroker[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});

it('a second node whose MQTT/STOMP/WebSocket ports are taken still serves AMQP and logs why the others are off', async () => {
  const first = await startProtocolBroker();
  brokers.push(first);
  const { mqttPort, stompPort, webMqttPort, webStompPort } = first;
  const second = await startProtocolBroker({ ports: { mqttPort, stompPort, webMqttPort, webStompPort }, env: { WARREN_LOG_LEVEL: 'info' } });
  brokers.push(second);
  for (const what of ['MQTT', 'STOMP', 'Web-MQTT', 'Web-STOMP']) {
    await waitFor(() => second.output().includes(`"${what} listener not started: port in use"`), 5000, `${what} refusal logged`);
  }
  const clients = new Clients(() => second);
  const ch = await clients.channel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  assert.match(queue, /^amq\.gen-/);
  await clients.closeAll();
});

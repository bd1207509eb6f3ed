// A publisher is read only as fast as a backed-up subscriber takes messages (RabbitMQ's credit flow), and
// everything arrives once the subscriber reads again.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, it } from 'node:test';
import { generate, parser, type Packet } from 'mqtt-packet';
import { sleep, waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { uniqueName } from './mqtt-support';

let broker: ProtocolBroker;
before(async () => {
  broker = await startProtocolBroker();
});
after(async () => {
  await broker.stop();
});

async function rawClient(clientId: string, onPacket: (p: Packet) => void): Promise<Socket> {
  const s = connect(broker.mqttPort, '127.0.0.1');
  await new Promise<void>((ok) => s.once('connect', () => ok()));
  const p = parser({ protocolVersion: 4 });
  let connack!: () => void;
  const ready = new Promise<void>((ok) => (connack = ok));
  p.on('packet', (packet: Packet) => (packet.cmd === 'connack' ? connack() : onPacket(packet)));
  s.on('data', (d) => p.parse(d));
  s.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0 }));
  await ready;
  return s;
}

it('stops reading a QoS 0 publisher while its subscriber does not read, then delivers everything', async () => {
  const topic = uniqueName('flow');
  let received = 0;
  let subscribed!: () => void;
  const subAck = new Promise<void>((ok) => (subscribed = ok));
  const sub = await rawClient(uniqueName('slow'), (p) => (p.cmd === 'suback' ? subscribed() : p.cmd === 'publish' ? received++ : undefined));
  sub.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }));
  await subAck;
  sub.pause();
  const pub = await rawClient(uniqueName('fast'), () => undefined);
  const count = 4000;
  const packet = generate({ cmd: 'publish', topic, payload: Buffer.alloc(8 * 1024, 0x62), qos: 0, retain: false, dup: false });
  for (let i = 0; i < count; i++) pub.write(packet);
  await sleep(1500);
  // 32 MB were written; with the subscriber stalled, the broker stops reading well before taking them all.
  assert.ok(pub.writableLength > 8 * 1024 * 1024, `publisher still has ${pub.writableLength} bytes unsent`);
  sub.resume();
  await waitFor(() => received === count, 20_000, `all ${count} messages (have ${received})`);
  assert.equal(pub.writableLength, 0);
  pub.destroy();
  sub.destroy();
});

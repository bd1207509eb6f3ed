// Malformed MQTT input closes that one connection; the broker and a bystander client carry on.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generate } from 'mqtt-packet';
import { waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { MqttClients, uniqueName } from './mqtt-support';

let broker: ProtocolBroker;
const clients = new MqttClients(() => broker);
before(async () => {
  broker = await startProtocolBroker();
});
after(async () => {
  await clients.closeAll();
  await broker.stop();
});

const CONNECT = generate({ cmd: 'connect', clientId: 'raw', protocolVersion: 4, protocolId: 'MQTT', clean: true, keepalive: 0 });

/** Writes `chunks` on a fresh socket; resolves with what came back once the broker closed it (fails after 5 s). */
function sendRaw(chunks: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(broker.mqttPort, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the broker kept the connection open'));
    }, 5000);
    socket.on('data', (d) => got.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    socket.on('connect', async () => {
      for (const c of chunks) {
        socket.write(c);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  });
}

/** A bystander subscribed before the abuse still gets a fresh publish afterwards. */
async function bystanderStillServed(): Promise<void> {
  const topic = uniqueName('bystander');
  const sub = await clients.connect({ protocolVersion: 5 });
  await sub.subscribeAsync(topic, { qos: 1 });
  const pub = await clients.connect({ protocolVersion: 4 });
  await pub.publishAsync(topic, 'still here', { qos: 1 });
  await waitFor(() => sub.received.length === 1, 5000, 'bystander delivery');
}

describe('malformed MQTT', () => {
  const cases: [string, Buffer[]][] = [
    ['a first packet that is not CONNECT', [generate({ cmd: 'pingreq' })]],
    ['garbage instead of CONNECT', [Buffer.from('GET / HTTP/1.1\r\n\r\n')]],
    ['an unknown protocol name', [Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x41, 0x42, 0x43, 0x44, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00])]],
    ['an invalid remaining length', [Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff])]],
    ['a CONNECT announcing 200 MB', [Buffer.from([0x10, 0x80, 0x80, 0x80, 0x60]), Buffer.alloc(1000)]],
    ['a second CONNECT', [CONNECT, CONNECT]],
    ['a SUBSCRIBE with reserved header bits wrong', [CONNECT, Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00])]],
    ['a SUBSCRIBE asking QoS 3', [CONNECT, Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03])]],
    ['a PUBLISH with both QoS bits set', [CONNECT, Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])]],
    ['a packet of reserved type 0', [CONNECT, Buffer.from([0x00, 0x00])]],
  ];
  for (const [name, chunks] of cases) {
    it(`closes the connection on ${name}`, async () => {
      await sendRaw(chunks);
      await bystanderStillServed();
    });
  }

  it('survives 300 random packets after a valid CONNECT (seeded)', async () => {
    let seed = 0x2545f491;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    const sockets: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      const body = Buffer.from(Array.from({ length: 2 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
      sockets.push(
        new Promise<void>((ok) => {
          const s = connect(broker.mqttPort, '127.0.0.1', () => s.end(Buffer.concat([CONNECT, body])));
          s.on('error', () => ok());
          s.on('close', () => ok());
          s.resume();
        }),
      );
      if (sockets.length >= 30) await Promise.all(sockets.splice(0));
    }
    await Promise.all(sockets);
    await bystanderStillServed();
    assert.equal(broker.child.exitCode, null);
  });
});

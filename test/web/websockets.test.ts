// Web-STOMP and Web-MQTT: @stomp/stompjs and MQTT.js over WebSockets from Node, and the handshake rules.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, type IMessage } from '@stomp/stompjs';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { Clients, uniqueName, waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';

let broker: ProtocolBroker;
const amqp = new Clients(() => broker);
before(async () => {
  broker = await startProtocolBroker();
});
after(async () => {
  await amqp.closeAll();
  await broker.stop();
});

function stompClient(): Promise<Client> {
  return new Promise((ok, fail) => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${broker.webStompPort}/ws`, ['v12.stomp', 'v11.stomp']),
      connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
      reconnectDelay: 0,
      heartbeatIncoming: 1000,
      heartbeatOutgoing: 1000,
      onConnect: () => ok(client),
      onStompError: (f) => fail(new Error(`${f.headers.message}: ${f.body}`)),
      onWebSocketError: () => fail(new Error('WebSocket error')),
    });
    client.activate();
  });
}

describe('Web-STOMP', () => {
  it('@stomp/stompjs subscribes, publishes with receipts, acks, and meets AMQP', async () => {
    const client = await stompClient();
    try {
      const q = uniqueName('ws');
      const got: IMessage[] = [];
      client.subscribe(`/queue/${q}`, (m) => {
        got.push(m);
        m.ack();
      }, { ack: 'client-individual', 'prefetch-count': '5' });
      const receipt = new Promise<void>((ok) => client.watchForReceipt('r1', () => ok()));
      client.publish({ destination: `/queue/${q}`, body: 'over websocket', headers: { receipt: 'r1', 'content-type': 'text/plain' } });
      await receipt;
      const ch = await amqp.channel();
      ch.sendToQueue(q, Buffer.from('from amqp'));
      await waitFor(() => got.length === 2, 5000, 'two MESSAGE frames');
      assert.deepEqual(got.map((m) => m.body), ['over websocket', 'from amqp']);
      assert.equal(got[0].headers['content-type'], 'text/plain');
      await waitFor(async () => (await ch.checkQueue(q)).messageCount === 0, 5000, 'acks settled');
    } finally {
      await client.deactivate();
    }
  });

  it('answers with the highest STOMP subprotocol offered, and upgrades without one', async () => {
    for (const [offered, expected] of [
      [['v10.stomp', 'v12.stomp'], 'v12.stomp'],
      [['v11.stomp'], 'v11.stomp'],
      [[], ''],
    ] as const) {
      const ws = new WebSocket(`ws://127.0.0.1:${broker.webStompPort}/ws`, [...offered]);
      await new Promise<void>((ok, fail) => {
        ws.once('open', () => ok());
        ws.once('error', fail);
      });
      assert.equal(ws.protocol, expected);
      ws.close();
    }
  });

  it('refuses another path with 404', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${broker.webStompPort}/other`);
    const status = await new Promise<number>((ok) => ws.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0)));
    assert.equal(status, 404);
  });
});

describe('Web-MQTT', () => {
  it('MQTT.js over ws:// publishes and subscribes, and meets plain MQTT and AMQP', async () => {
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${broker.webMqttPort}/ws`, { protocolVersion: 5, reconnectPeriod: 0 });
    const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, { reconnectPeriod: 0 });
    try {
      const topic = uniqueName('wsm').replace(/\./g, '-');
      const got: string[] = [];
      ws.on('message', (t, p) => got.push(`${t} ${p}`));
      await ws.subscribeAsync(`${topic}/#`, { qos: 1 });
      await tcp.publishAsync(`${topic}/tcp`, 'from tcp', { qos: 1 });
      const ch = await amqp.channel();
      ch.publish('amq.topic', `${topic}.amqp`, Buffer.from('from amqp'));
      await ws.publishAsync(`${topic}/self`, 'from ws', { qos: 1 });
      await waitFor(() => got.length === 3, 5000, 'three deliveries');
      assert.deepEqual(got.sort(), [`${topic}/amqp from amqp`, `${topic}/self from ws`, `${topic}/tcp from tcp`]);
    } finally {
      await ws.endAsync();
      await tcp.endAsync();
    }
  });

  it('requires the mqtt subprotocol (HTTP 400 without it) and closes on a text frame with 1003', async () => {
    const plain = new WebSocket(`ws://127.0.0.1:${broker.webMqttPort}/ws`);
    assert.equal(await new Promise<number>((ok) => plain.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0))), 400);
    const ws = new WebSocket(`ws://127.0.0.1:${broker.webMqttPort}/ws`, ['mqtt']);
    await new Promise<void>((ok) => ws.once('open', () => ok()));
    assert.equal(ws.protocol, 'mqtt');
    ws.send('not binary');
    assert.equal(await new Promise<number>((ok) => ws.once('close', (code) => ok(code))), 1003);
  });
});

// MQTT and AMQP 0-9-1 clients meeting on amq.topic, with the properties that map kept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Clients, waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { MqttClients, uniqueName } from './mqtt-support';

let broker: ProtocolBroker;
const mqtt = new MqttClients(() => broker);
const amqp = new Clients(() => broker);
before(async () => {
  broker = await startProtocolBroker();
});
after(async () => {
  await mqtt.closeAll();
  await amqp.closeAll();
  await broker.stop();
});

describe('MQTT ↔ AMQP', () => {
  it('an MQTT publish reaches an AMQP queue bound with the translated key, with properties mapped', async () => {
    const ch = await amqp.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const base = uniqueName('x');
    await ch.bindQueue(queue, 'amq.topic', `${base}.*.temp`);
    const pub = await mqtt.connect({ protocolVersion: 5 });
    await pub.publishAsync(`${base}/room/temp`, '21.5', {
      qos: 1,
      properties: { contentType: 'text/plain', correlationData: Buffer.from('abc'), userProperties: { unit: 'C' }, responseTopic: 'answers/here', messageExpiryInterval: 60 },
    });
    await pub.publishAsync(`${base}/room/temp`, 'qos0', { qos: 0 });
    const got: { key: string; body: string; props: Record<string, unknown> }[] = [];
    await ch.consume(queue, (m) => m && got.push({ key: m.fields.routingKey, body: m.content.toString(), props: m.properties as unknown as Record<string, unknown> }), { noAck: true });
    await waitFor(() => got.length === 2, 5000, 'two AMQP deliveries');
    assert.equal(got[0].key, `${base}.room.temp`);
    assert.equal(got[0].body, '21.5');
    assert.equal(got[0].props.deliveryMode, 2);
    assert.equal(got[0].props.contentType, 'text/plain');
    assert.equal(got[0].props.correlationId, 'abc');
    assert.equal(got[0].props.expiration, '60000');
    const headers = got[0].props.headers as Record<string, unknown>;
    assert.equal(String(headers.unit), 'C');
    assert.equal(String(headers['x-reply-to-topic']), 'answers.here');
    assert.equal(got[1].props.deliveryMode, 1);
  });

  it('an AMQP publish on amq.topic reaches MQTT subscribers as QoS 1 when persistent, with headers as user properties', async () => {
    const base = uniqueName('y');
    const sub5 = await mqtt.connect({ protocolVersion: 5 });
    await sub5.subscribeAsync(`${base}/#`, { qos: 1 });
    const sub4 = await mqtt.connect({ protocolVersion: 4 });
    await sub4.subscribeAsync(`${base}/+/b`, { qos: 1 });
    const ch = await amqp.channel();
    ch.publish('amq.topic', `${base}.a.b`, Buffer.from('from amqp'), {
      persistent: true,
      contentType: 'application/json',
      correlationId: 'corr',
      headers: { 'x-reply-to-topic': 'r.t', n: 42, s: 'text', nested: { a: 1 } },
    });
    ch.publish('amq.topic', `${base}.a.b`, Buffer.from('transient'), {});
    await waitFor(() => sub5.received.length === 2 && sub4.received.length === 2, 5000, 'MQTT deliveries');
    const [first, second] = sub5.received;
    assert.equal(first.topic, `${base}/a/b`);
    assert.equal(first.payload, 'from amqp');
    assert.equal(first.packet.qos, 1);
    assert.equal(second.packet.qos, 0);
    const p = first.packet.properties!;
    assert.equal(p.contentType, 'application/json');
    assert.equal(String(p.correlationData), 'corr');
    assert.equal(p.responseTopic, 'r/t');
    assert.deepEqual({ ...p.userProperties }, { n: '42', s: 'text' });
    assert.deepEqual(sub4.received.map((r) => r.payload), ['from amqp', 'transient']);
  });

  it('names and flags the session queues as RabbitMQ does', async () => {
    const clientId = uniqueName('q');
    const c = await mqtt.connect({ protocolVersion: 4, clientId, clean: false });
    await c.subscribeAsync('a/b', { qos: 1 });
    await c.subscribeAsync('c/d', { qos: 0 });
    const ch = await amqp.channel();
    const q1 = await ch.checkQueue(`mqtt-subscription-${clientId}qos1`);
    const q0 = await ch.checkQueue(`mqtt-subscription-${clientId}qos0`);
    assert.equal(q1.consumerCount, 1);
    assert.equal(q0.consumerCount, 1);
    // An AMQP publish to the bound key lands in the session queue.
    ch.publish('amq.topic', 'a.b', Buffer.from('x'), { persistent: true });
    await waitFor(() => c.received.length === 1, 5000, 'delivery');
    await c.endAsync();
  });
});

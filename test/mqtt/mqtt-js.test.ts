// MQTT.js against Warren's MQTT listener, as MQTT 3.1.1 and 5.0: the RabbitMQ MQTT plugin's behaviour.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor, sleep } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { Clients } from '../helpers/amqp-test';
import { connectRefused, MqttClients, uniqueName } from './mqtt-support';

let broker: ProtocolBroker;
const clients = new MqttClients(() => broker);
const amqp = new Clients(() => broker);

async function queueExists(name: string): Promise<boolean> {
  const ch = await amqp.channel();
  try {
    await ch.checkQueue(name);
    await ch.close();
    return true;
  } catch {
    return false;
  }
}
before(async () => {
  broker = await startProtocolBroker();
});
after(async () => {
  await clients.closeAll();
  await amqp.closeAll();
  await broker.stop();
});

for (const protocolVersion of [4, 5] as const) {
  describe(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}`, () => {
    it('routes publishes to matching wildcard subscriptions at QoS 0 and 1', async () => {
      const base = uniqueName('t');
      const sub = await clients.connect({ protocolVersion });
      await sub.subscribeAsync(`${base}/+/temp`, { qos: 1 });
      await sub.subscribeAsync(`${base}/all/#`, { qos: 0 });
      const pub = await clients.connect({ protocolVersion });
      await pub.publishAsync(`${base}/kitchen/temp`, 'q1', { qos: 1 });
      await pub.publishAsync(`${base}/kitchen/temp`, 'q0', { qos: 0 });
      await pub.publishAsync(`${base}/all/x/y`, 'deep', { qos: 1 });
      await pub.publishAsync(`${base}/kitchen/humidity`, 'nobody', { qos: 1 });
      await waitFor(() => sub.received.length >= 3, 5000, 'three deliveries');
      await sleep(100);
      const got = sub.received.map((r) => [r.topic, r.payload, r.packet.qos]).sort();
      assert.deepEqual(got, [
        [`${base}/all/x/y`, 'deep', 0],
        [`${base}/kitchen/temp`, 'q0', 0],
        [`${base}/kitchen/temp`, 'q1', 1],
      ]);
    });

    it('grants QoS 2 subscriptions as 1 and downgrades 3.1.1 QoS 2 publishes to 1', async () => {
      const topic = uniqueName('q2');
      const sub = await clients.connect({ protocolVersion });
      const granted = await sub.subscribeAsync(topic, { qos: 2 });
      assert.equal(granted[0].qos, 1);
      if (protocolVersion === 4) {
        const pub = await clients.connect({ protocolVersion });
        await pub.publishAsync(topic, 'two', { qos: 2 });
        await waitFor(() => sub.received.length === 1, 5000, 'delivery');
        assert.equal(sub.received[0].packet.qos, 1);
      }
    });

    it('keeps a persistent session\'s subscriptions and queued messages while it is away', async () => {
      const clientId = uniqueName('persist');
      const topic = uniqueName('p');
      const opts = protocolVersion === 5 ? { clientId, clean: false, properties: { sessionExpiryInterval: 300 } } : { clientId, clean: false };
      const first = await clients.connect({ protocolVersion, ...opts });
      await first.subscribeAsync(topic, { qos: 1 });
      await first.endAsync();
      const pub = await clients.connect({ protocolVersion });
      await pub.publishAsync(topic, 'while away', { qos: 1 });
      const again = await clients.connect({ protocolVersion, ...opts });
      assert.equal((again as unknown as { connackPacket?: { sessionPresent: boolean } }).connackPacket?.sessionPresent ?? true, true);
      await waitFor(() => again.received.length === 1, 5000, 'queued message');
      assert.equal(again.received[0].payload, 'while away');
      // A clean start throws the session away.
      await again.endAsync();
      const clean = await clients.connect({ protocolVersion, clientId, clean: true });
      await pub.publishAsync(topic, 'after clean', { qos: 1 });
      await sleep(200);
      assert.equal(clean.received.length, 0);
    });

    it('stores retained messages and replays them to new subscribers; an empty payload clears them', async () => {
      const topic = `${uniqueName('r')}/state`;
      const pub = await clients.connect({ protocolVersion });
      await pub.publishAsync(topic, 'on', { qos: 1, retain: true });
      const sub = await clients.connect({ protocolVersion });
      await sub.subscribeAsync(topic, { qos: 1 });
      await waitFor(() => sub.received.length === 1, 5000, 'retained message');
      assert.equal(sub.received[0].payload, 'on');
      assert.equal(sub.received[0].packet.retain, true);
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      const late = await clients.connect({ protocolVersion });
      await late.subscribeAsync(topic, { qos: 1 });
      await sleep(200);
      assert.equal(late.received.length, 0);
    });

    it('publishes the will when a client disappears, not on a normal DISCONNECT', async () => {
      const topic = uniqueName('will');
      const watcher = await clients.connect({ protocolVersion });
      await watcher.subscribeAsync(topic, { qos: 1 });
      const polite = await clients.connect({ protocolVersion, will: { topic, payload: Buffer.from('polite'), qos: 1, retain: false } });
      await polite.endAsync();
      const rude = await clients.connect({ protocolVersion, will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } });
      (rude as unknown as { stream: { destroy(): void } }).stream.destroy();
      await waitFor(() => watcher.received.length === 1, 5000, 'will message');
      await sleep(200);
      assert.deepEqual(watcher.received.map((r) => r.payload), ['gone']);
    });

    it('takes over a client ID: the older connection is closed', async () => {
      const clientId = uniqueName('dup');
      const first = await clients.connect({ protocolVersion, clientId });
      const closed = new Promise<void>((ok) => first.once('close', () => ok()));
      const second = await clients.connect({ protocolVersion, clientId });
      await closed;
      assert.equal(second.connected, true);
      await second.subscribeAsync('x', { qos: 0 });
    });

    it('refuses a wrong password and an unknown vhost, and accepts vhost:user', async () => {
      const bad = protocolVersion === 5 ? 0x86 : 4;
      assert.equal(await connectRefused(broker.mqttPort, { protocolVersion, username: 'guest', password: 'nope' }), bad);
      assert.equal(await connectRefused(broker.mqttPort, { protocolVersion, username: 'no-such-vhost:guest', password: 'guest' }), bad);
      const ok = await clients.connect({ protocolVersion, username: '/:guest', password: 'guest' });
      assert.equal(ok.connected, true);
    });

    it('closes a client that stays silent past 1.5 × its keepalive', async () => {
      const client = await clients.connect({ protocolVersion, keepalive: 1 });
      // Stop MQTT.js from sending PINGREQ, so the connection goes silent.
      (client as unknown as { options: { keepalive: number } }).options.keepalive = 0;
      const c = client as unknown as { keepaliveManager?: { destroy(): void }; pingTimer?: { clear(): void } };
      c.keepaliveManager?.destroy();
      c.pingTimer?.clear();
      const started = Date.now();
      await new Promise<void>((ok) => client.once('close', () => ok()));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 1000 && elapsed < 4000, `closed after ${elapsed} ms`);
    });
  });
}

describe('MQTT 5 features', () => {
  it('carries user properties, content type, correlation data and response topic; tags subscription identifiers', async () => {
    const topic = uniqueName('v5');
    const sub = await clients.connect({ protocolVersion: 5 });
    await sub.subscribeAsync(`${topic}/#`, { qos: 1, properties: { subscriptionIdentifier: 7 } });
    const pub = await clients.connect({ protocolVersion: 5 });
    await pub.publishAsync(`${topic}/a`, 'props', {
      qos: 1,
      properties: { userProperties: { colour: 'blue' }, contentType: 'text/plain', correlationData: Buffer.from('c-1'), responseTopic: 'reply/here' },
    });
    await waitFor(() => sub.received.length === 1, 5000, 'delivery');
    const p = sub.received[0].packet.properties!;
    assert.equal(p.contentType, 'text/plain');
    assert.equal(String(p.correlationData), 'c-1');
    assert.equal(p.responseTopic, 'reply/here');
    assert.deepEqual({ ...p.userProperties }, { colour: 'blue' });
    assert.deepEqual(p.subscriptionIdentifier, 7);
  });

  it('honours No-Local and inbound topic aliases', async () => {
    const topic = uniqueName('nl');
    const self = await clients.connect({ protocolVersion: 5 });
    await self.subscribeAsync(topic, { qos: 1, nl: true });
    const other = await clients.connect({ protocolVersion: 5 });
    await self.publishAsync(topic, 'mine', { qos: 1 });
    await other.publishAsync(topic, 'first', { qos: 1, properties: { topicAlias: 3 } });
    await other.publishAsync('', 'by alias', { qos: 1, properties: { topicAlias: 3 } });
    await waitFor(() => self.received.length === 2, 5000, 'two deliveries');
    await sleep(100);
    assert.deepEqual(self.received.map((r) => r.payload), ['first', 'by alias']);
  });

  it('disconnects a QoS 2 publish with 0x9B and assigns a client ID when none is given', async () => {
    const anon = await clients.connect({ protocolVersion: 5, clientId: '' });
    const assigned = (anon as unknown as { connackPacket?: { properties?: { assignedClientIdentifier?: string } } }).connackPacket?.properties?.assignedClientIdentifier;
    assert.match(assigned ?? '', /^[A-Za-z0-9_-]{22}$/);
    const reason = new Promise<number | undefined>((ok) => anon.once('disconnect', (p) => ok(p.reasonCode)));
    anon.publish(uniqueName('q2'), 'x', { qos: 2 });
    assert.equal(await reason, 0x9b);
  });

  it('expires a message after its Message-Expiry-Interval', async () => {
    const clientId = uniqueName('exp');
    const topic = uniqueName('exp');
    const opts = { protocolVersion: 5 as const, clientId, clean: false, properties: { sessionExpiryInterval: 60 } };
    const sub = await clients.connect(opts);
    await sub.subscribeAsync(topic, { qos: 1 });
    await sub.endAsync();
    const pub = await clients.connect({ protocolVersion: 5 });
    await pub.publishAsync(topic, 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync(topic, 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await sleep(1300);
    const again = await clients.connect(opts);
    await waitFor(() => again.received.length >= 1, 5000, 'long-lived message');
    await sleep(100);
    assert.deepEqual(again.received.map((r) => r.payload), ['long']);
    // Forwarded minus the time it waited in the broker.
    const left = again.received[0].packet.properties?.messageExpiryInterval ?? 0;
    assert.ok(left >= 57 && left <= 59, `Message-Expiry-Interval ${left}`);
  });

  it('ends a session whose DISCONNECT sets Session-Expiry-Interval 0: its queue is deleted', async () => {
    const clientId = uniqueName('end');
    const c = await clients.connect({ protocolVersion: 5, clientId, properties: { sessionExpiryInterval: 300 } });
    await c.subscribeAsync(uniqueName('t'), { qos: 1 });
    const ch = await amqp.channel();
    assert.equal((await ch.checkQueue(`mqtt-subscription-${clientId}qos1`)).consumerCount, 1);
    await c.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
    await waitFor(async () => !(await queueExists(`mqtt-subscription-${clientId}qos1`)), 5000, 'session queue deleted');
  });

  it('delays a will by its Will-Delay-Interval, and a reconnect within the delay cancels it', async () => {
    const topic = uniqueName('delayed');
    const watcher = await clients.connect({ protocolVersion: 5 });
    await watcher.subscribeAsync(topic, { qos: 1 });
    const will = { topic, payload: Buffer.from('late'), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } };
    const opts = { protocolVersion: 5 as const, properties: { sessionExpiryInterval: 60 }, will };
    const first = await clients.connect({ ...opts, clientId: uniqueName('w1') });
    (first as unknown as { stream: { destroy(): void } }).stream.destroy();
    await sleep(400);
    assert.equal(watcher.received.length, 0, 'not before the delay');
    await waitFor(() => watcher.received.length === 1, 5000, 'delayed will');
    const clientId = uniqueName('w2');
    const second = await clients.connect({ ...opts, clientId });
    (second as unknown as { stream: { destroy(): void } }).stream.destroy();
    await sleep(200);
    await clients.connect({ protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    await sleep(1300);
    assert.equal(watcher.received.length, 1, 'the reconnect cancelled the second will');
  });
});

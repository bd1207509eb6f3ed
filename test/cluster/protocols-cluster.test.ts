// MQTT and STOMP on a three-node cluster: a session's queues live on the node the client is
// connected to; publishes from the other nodes (MQTT, STOMP, AMQP) reach them through the mesh.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as amqp from 'amqplib';
import mqtt from 'mqtt';
import { freePort } from '../helpers/free-port';
import { RawStomp } from '../stomp/raw-stomp';
import { ClusterProcess, clusterStatus, waitFor, withChannel } from './cluster-support';

describe('MQTT and STOMP across a cluster of three processes', { timeout: 120_000 }, () => {
  let epmdPort = 0;
  let nodes: (ClusterProcess & { mqttPort: number; stompPort: number })[] = [];

  before(async () => {
    epmdPort = await freePort();
    const names = ['proto-a@127.0.0.1', 'proto-b@127.0.0.1', 'proto-c@127.0.0.1'];
    for (const name of names) {
      const mqttPort = await freePort();
      const stompPort = await freePort();
      const spec = { name, host: '127.0.0.1', amqpPort: await freePort(), distPort: await freePort(), epmdPort, env: { WARREN_NODE_IP: '127.0.0.1', WARREN_MQTT_PORT: String(mqttPort), WARREN_STOMP_PORT: String(stompPort), WARREN_LOG_LEVEL: 'warn' } };
      nodes.push(Object.assign(new ClusterProcess(spec, names), { mqttPort, stompPort }));
    }
    for (const n of nodes) n.start();
    await Promise.all(nodes.map((n) => n.waitListening()));
    await waitFor('three members agreeing on a leader', () => {
      const s = nodes.map((n) => clusterStatus(n.spec.name, { epmdPort }));
      const leader = s[0].status.leader;
      return s.every((x) => x.ok && x.status.members.length === 3 && x.status.leader === leader && leader !== '' && x.status.members.every((m) => m.up)) ? s : undefined;
    });
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
    nodes = [];
  });

  test('an MQTT subscriber on node A gets publishes made on nodes B (MQTT), C (STOMP) and B (AMQP)', async () => {
    const topic = `cl-${Date.now()}`;
    // A session that outlives the connection has a durable, non-exclusive queue that other nodes can check.
    const clientId = `cl-sub-${Date.now()}`;
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodes[0].mqttPort}`, { reconnectPeriod: 0, protocolVersion: 5, clientId, clean: true, properties: { sessionExpiryInterval: 60 } });
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodes[1].mqttPort}`, { reconnectPeriod: 0 });
    const stomp = await RawStomp.login(nodes[2].stompPort);
    try {
      const got: string[] = [];
      sub.on('message', (t, p) => got.push(`${t} ${p}`));
      await sub.subscribeAsync(`${topic}/#`, { qos: 1 });
      // The binding is committed through Raft; give the other nodes a moment to apply it.
      await waitFor('binding replicated', () => withChannel(nodes[1].url, async (ch) => (await ch.checkQueue(`mqtt-subscription-${clientId}qos1`)).consumerCount === 1));
      await pub.publishAsync(`${topic}/mqtt`, 'via B', { qos: 1 });
      await stomp.withReceipt('SEND', { destination: `/topic/${topic}.stomp`, persistent: 'true' }, 'via C');
      const conn = await amqp.connect(nodes[1].url);
      const ch = await conn.createConfirmChannel();
      ch.publish('amq.topic', `${topic}.amqp`, Buffer.from('via B amqp'), { persistent: true });
      await ch.waitForConfirms();
      await conn.close();
      await waitFor('three deliveries on A', () => got.length === 3).catch((err) => {
        throw new Error(`${(err as Error).message}; got ${JSON.stringify(got)}\n${nodes.map((n) => n.output.slice(-1500)).join('\n---\n')}`);
      });
      assert.deepEqual(got.sort(), [`${topic}/amqp via B amqp`, `${topic}/mqtt via B`, `${topic}/stomp via C`]);
    } finally {
      stomp.close();
      await sub.endAsync(true);
      await pub.endAsync(true);
    }
  });
});

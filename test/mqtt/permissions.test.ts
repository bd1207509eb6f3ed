// Users, vhosts and permissions from the broker apply to MQTT and STOMP as RabbitMQ applies them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { ctlOk } from '../ctl/ctl-support';
import { waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { RawStomp } from '../stomp/raw-stomp';
import { uniqueName } from './mqtt-support';

let broker: ProtocolBroker;
before(async () => {
  broker = await startProtocolBroker();
  await ctlOk(broker.dataDir, ['add_vhost', 'iot']);
  // Reads and owns its session queues, but may not publish to amq.topic.
  await ctlOk(broker.dataDir, ['add_user', 'reader', 'pw']);
  await ctlOk(broker.dataDir, ['set_permissions', '-p', 'iot', 'reader', '^mqtt-subscription-.*', '^mqtt-subscription-.*', '.*']);
  // May publish, but not read anything.
  await ctlOk(broker.dataDir, ['add_user', 'writer', 'pw']);
  await ctlOk(broker.dataDir, ['set_permissions', '-p', 'iot', 'writer', '.*', '.*', '']);
  // Everything, but on amq.topic may publish only under sensors/{username} and read only sensors.
  await ctlOk(broker.dataDir, ['add_user', 'device', 'pw']);
  await ctlOk(broker.dataDir, ['set_permissions', '-p', 'iot', 'device', '.*', '.*', '.*']);
  await ctlOk(broker.dataDir, ['set_topic_permissions', '-p', 'iot', 'device', 'amq.topic', '^sensors\\.{username}\\.', '^sensors\\.']);
});
after(async () => {
  await broker.stop();
});

function connect(username: string, protocolVersion: 4 | 5) {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, { username, password: 'pw', protocolVersion, reconnectPeriod: 0 });
}

describe('MQTT permissions', () => {
  it('a user without write on amq.topic is disconnected at its first publish; it can still subscribe', async () => {
    const c = await connect('iot:reader', 5);
    const granted = await c.subscribeAsync(uniqueName('r'), { qos: 1 });
    assert.equal(granted[0].qos, 1);
    const reason = new Promise<number | undefined>((ok) => c.once('disconnect', (p) => ok(p.reasonCode)));
    c.publish('some/topic', 'x', { qos: 0 });
    assert.equal(await reason, 0x87);
    c.end(true);
  });

  it('a user without read on amq.topic gets a failed SUBACK and is disconnected', async () => {
    const c = await connect('iot:writer', 4);
    const closed = new Promise<void>((ok) => c.once('close', () => ok()));
    const granted = await c.subscribeAsync(uniqueName('w'), { qos: 1 }).catch(() => [{ qos: 0x80 }]);
    assert.equal(granted[0].qos, 0x80);
    await closed;
    c.end(true);
  });

  it('topic permissions apply to the translated topic: publish under sensors/device/ only, subscribe under sensors/ only', async () => {
    const c = await connect('iot:device', 5);
    const got: string[] = [];
    c.on('message', (t) => got.push(t));
    const granted = await c.subscribeAsync('sensors/#', { qos: 1 });
    assert.equal(granted[0].qos, 1);
    await c.publishAsync('sensors/device/temp', '21', { qos: 1 });
    await waitFor(() => got.length === 1, 5000, 'own publish delivered');
    const reason = new Promise<number | undefined>((ok) => c.once('disconnect', (p) => ok(p.reasonCode)));
    c.publish('sensors/other/temp', 'x', { qos: 0 });
    assert.equal(await reason, 0x87);
    c.end(true);
    const d = await connect('iot:device', 5);
    const closed = new Promise<void>((ok) => d.once('close', () => ok()));
    const refused = await d.subscribeAsync('alarms/#', { qos: 1 }).catch(() => [{ qos: 0x87 }]);
    assert.equal(refused[0].qos, 0x87);
    await closed;
    d.end(true);
  });

  it('a user with no permissions in the vhost is refused (0x87 / 5)', async () => {
    for (const [protocolVersion, code] of [
      [5, 0x87],
      [4, 5],
    ] as const) {
      const err = await connect('/:reader', protocolVersion).then(
        (c) => {
          c.end(true);
          return undefined;
        },
        (e: Error & { code?: number }) => e.code,
      );
      assert.equal(err, code);
    }
  });
});

describe('STOMP permissions', () => {
  it('SEND without write permission is an access_refused ERROR that closes the connection', async () => {
    const c = await RawStomp.login(broker.stompPort, { login: 'reader', passcode: 'pw', host: 'iot' });
    c.send('SEND', { destination: '/topic/x' }, 'no');
    const err = await c.next('ERROR');
    assert.equal(err.headers.message, 'access_refused');
    assert.match(err.body, /ACCESS_REFUSED - write access to exchange 'amq.topic' in vhost 'iot' refused for user 'reader'/);
    await c.closedPromise;
  });
});

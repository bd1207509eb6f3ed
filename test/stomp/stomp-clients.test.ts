// stomp.py (python3-stomp) against Warren's STOMP listener, and STOMP ↔ AMQP ↔ MQTT.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { Clients, uniqueName, waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { PYTHON } from '../helpers/python-script';
import { RawStomp } from './raw-stomp';

const run = promisify(execFile);
const SCRIPTS = join(__dirname, '../../../test/stomp');
let broker: ProtocolBroker;
const amqp = new Clients(() => broker);
before(async () => {
  broker = await startProtocolBroker();
});
after(async () => {
  await amqp.closeAll();
  await broker.stop();
});

describe('stomp.py', () => {
  it('runs the round trip as STOMP 1.0, 1.1 and 1.2', async () => {
    const { stdout } = await run(PYTHON, [join(SCRIPTS, 'stomp_py_roundtrip.py')], {
      env: { ...process.env, WARREN_HOST: '127.0.0.1', WARREN_STOMP_PORT: String(broker.stompPort), PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 60_000,
    });
    assert.match(stdout, /ok 1\.0\nok 1\.1\nok 1\.2/);
  });
});

describe('STOMP ↔ MQTT', () => {
  it('a STOMP /topic SEND reaches MQTT subscribers and an MQTT publish reaches a STOMP /topic subscriber', async () => {
    const key = uniqueName('x').replace(/\./g, '-');
    const m = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, { reconnectPeriod: 0 });
    const got: string[] = [];
    m.on('message', (t, p) => got.push(`${t} ${p}`));
    await m.subscribeAsync(`${key}/+`, { qos: 1 });
    const s = await RawStomp.login(broker.stompPort);
    await s.withReceipt('SUBSCRIBE', { destination: `/topic/${key}.#`, id: 'all' });
    await s.withReceipt('SEND', { destination: `/topic/${key}.from-stomp`, persistent: 'true' }, 'hi mqtt');
    await m.publishAsync(`${key}/from-mqtt`, 'hi stomp', { qos: 1 });
    await waitFor(() => got.length === 2, 5000, 'MQTT deliveries');
    assert.deepEqual(got.sort(), [`${key}/from-mqtt hi stomp`, `${key}/from-stomp hi mqtt`]);
    const bodies = [(await s.next('MESSAGE')).body, (await s.next('MESSAGE')).body].sort();
    assert.deepEqual(bodies, ['hi mqtt', 'hi stomp']);
    s.close();
    await m.endAsync();
  });
});

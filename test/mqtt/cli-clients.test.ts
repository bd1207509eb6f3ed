// Debian's MQTT clients: mosquitto_pub / mosquitto_sub (mosquitto-clients) and paho-mqtt (python3-paho-mqtt).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Clients, waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { PYTHON } from '../helpers/python-script';
import { uniqueName } from './mqtt-support';

const run = promisify(execFile);
const SCRIPTS = join(__dirname, '../../../test/mqtt');
let broker: ProtocolBroker;
const amqp = new Clients(() => broker);
before(async () => {
  broker = await startProtocolBroker();
});
after(async () => {
  await amqp.closeAll();
  await broker.stop();
});

/** Starts mosquitto_sub and resolves with its output once it has printed `count` messages. */
function mosquittoSub(args: string[], count: number): { ready: Promise<void>; done: Promise<string> } {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-C', String(count), '-W', '10', '-d', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let debug = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((ok) => (readyResolve = ok));
  child.stdout.on('data', (d) => {
    out += d;
    if (/SUBACK/.test(out)) readyResolve();
  });
  const done = new Promise<string>((ok, fail) => {
    child.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`mosquitto_sub exited ${code}: ${out}${debug}`))));
  });
  child.stderr.on('data', (d) => (debug += d));
  return { ready, done };
}

describe('mosquitto-clients', () => {
  for (const version of ['mqttv311', 'mqttv5']) {
    it(`mosquitto_pub → mosquitto_sub (${version}), QoS 0 and 1, retained`, async () => {
      const topic = `${uniqueName('mosq')}/t`;
      await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-V', version, '-t', topic, '-m', 'retained-one', '-q', '1', '-r']);
      const sub = mosquittoSub(['-V', version, '-t', topic, '-q', '1', '-v'], 3);
      await sub.ready;
      await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-V', version, '-t', topic, '-m', 'q0', '-q', '0']);
      await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-V', version, '-t', topic, '-m', 'q1', '-q', '1']);
      const lines = (await sub.done).split('\n').filter((l) => l.startsWith(topic));
      assert.deepEqual(lines, [`${topic} retained-one`, `${topic} q0`, `${topic} q1`]);
    });
  }

  it('mosquitto_pub reaches an AMQP consumer, and logs in as vhost:user', async () => {
    const ch = await amqp.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const key = uniqueName('cli');
    await ch.bindQueue(queue, 'amq.topic', `${key}.x`);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-u', '/:guest', '-P', 'guest', '-t', `${key}/x`, '-m', 'hello amqp', '-q', '1']);
    const got: string[] = [];
    await ch.consume(queue, (m) => m && got.push(m.content.toString()), { noAck: true });
    await waitFor(() => got.length === 1, 5000, 'AMQP delivery');
    assert.deepEqual(got, ['hello amqp']);
    await assert.rejects(run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-u', 'guest', '-P', 'wrong', '-t', 'x', '-m', 'no']));
  });
});

describe('paho-mqtt', () => {
  it('runs the paho round trip as 3.1.1 and 5.0', async () => {
    const { stdout } = await run(PYTHON, [join(SCRIPTS, 'paho_roundtrip.py')], {
      env: { ...process.env, WARREN_HOST: '127.0.0.1', WARREN_MQTT_PORT: String(broker.mqttPort), PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 60_000,
    });
    assert.match(stdout, /ok 3\.1\.1\nok 5\.0/);
  });
});

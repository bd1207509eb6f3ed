// MQTTS and STOMPS with the AMQPS certificate settings (ssl_options.*), certificates made here by openssl:
// MQTT.js over mqtts://, mosquitto_pub/sub with --cafile, and STOMP over a TLS socket.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import mqtt from 'mqtt';
import { waitFor } from '../helpers/amqp-test';
import { freePort } from '../helpers/free-port';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';
import { uniqueName } from './mqtt-support';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'warren-proto-tls-'));
const file = (name: string) => join(dir, name);
let broker: ProtocolBroker;
let mqttsPort = 0;
let stompsPort = 0;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

before(async () => {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=warren-proto-ca']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  mqttsPort = await freePort();
  stompsPort = await freePort();
  broker = await startProtocolBroker({
    env: {
      WARREN_SSL_CERTFILE: file('server.pem'),
      WARREN_SSL_KEYFILE: file('server.key'),
      WARREN_SSL_CACERTFILE: file('ca.pem'),
      WARREN_MQTT_SSL_PORT: String(mqttsPort),
      WARREN_STOMP_SSL_PORT: String(stompsPort),
    },
  });
});
after(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('MQTT.js over mqtts:// meets a plain MQTT publisher', async () => {
  const topic = uniqueName('tls');
  const secure = await mqtt.connectAsync(`mqtts://127.0.0.1:${mqttsPort}`, { ca: readFileSync(file('ca.pem')), reconnectPeriod: 0, protocolVersion: 5 });
  const got: string[] = [];
  secure.on('message', (_t, p) => got.push(String(p)));
  await secure.subscribeAsync(topic, { qos: 1 });
  const plain = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, { reconnectPeriod: 0 });
  await plain.publishAsync(topic, 'to the TLS side', { qos: 1 });
  await waitFor(() => got.length === 1, 5000, 'delivery over TLS');
  assert.deepEqual(got, ['to the TLS side']);
  await secure.endAsync();
  await plain.endAsync();
});

it('mosquitto_pub --cafile publishes over MQTTS', async () => {
  const topic = uniqueName('mosq-tls');
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.mqttPort}`, { reconnectPeriod: 0 });
  const got: string[] = [];
  sub.on('message', (_t, p) => got.push(String(p)));
  await sub.subscribeAsync(topic, { qos: 1 });
  await run('mosquitto_pub', ['-h', 'localhost', '-p', String(mqttsPort), '--cafile', file('ca.pem'), '-t', topic, '-m', 'over tls', '-q', '1']);
  await waitFor(() => got.length === 1, 5000, 'delivery');
  assert.deepEqual(got, ['over tls']);
  await sub.endAsync();
});

it('STOMP over TLS logs in and gets a receipt', async () => {
  const socket = tlsConnect({ host: '127.0.0.1', port: stompsPort, ca: readFileSync(file('ca.pem')), servername: 'localhost' });
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  await new Promise<void>((ok, fail) => {
    socket.once('secureConnect', () => ok());
    socket.once('error', fail);
  });
  socket.write('CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\n\n\0SEND\ndestination:/queue/tls-q\nreceipt:r1\n\nsecure\0');
  await waitFor(() => text.includes('RECEIPT'), 5000, 'RECEIPT over TLS');
  assert.match(text, /^CONNECTED\n/);
  assert.match(text, /receipt-id:r1/);
  socket.destroy();
});

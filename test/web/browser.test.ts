// Web-STOMP and Web-MQTT from a page in headless Chromium (Debian's chromium, driven by puppeteer-core):
// the browser builds of @stomp/stompjs and MQTT.js talk to the broker, and an AMQP client sees the result.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { Clients, uniqueName, waitFor } from '../helpers/amqp-test';
import { startProtocolBroker, type ProtocolBroker } from '../helpers/protocol-broker';

const CHROMIUM = process.env.WARREN_TEST_CHROMIUM ?? '/usr/bin/chromium';
// The packages' browser builds (not in their "exports", so found from the repository root).
const ROOT = join(__dirname, '../../..');
const STOMP_BUNDLE = join(ROOT, 'node_modules/@stomp/stompjs/bundles/stomp.umd.min.js');
const MQTT_BUNDLE = join(ROOT, 'node_modules/mqtt/dist/mqtt.min.js');

let broker: ProtocolBroker;
let browser: Browser;
let page: Page;
let site: Server;
const amqp = new Clients(() => broker);
before(async () => {
  // Fails loudly when chromium is missing: .ci/run installs it.
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  broker = await startProtocolBroker();
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  // The page comes from a web server on loopback, as an application page would (Chromium refuses
  // WebSockets to loopback from about:blank: local network access checks).
  const html = `<!doctype html><title>warren</title><script>${readFileSync(STOMP_BUNDLE, 'utf8')}</script><script>${readFileSync(MQTT_BUNDLE, 'utf8')}</script>`;
  site = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
  await new Promise<void>((ok) => site.listen(0, '127.0.0.1', () => ok()));
  const address = site.address();
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`);
});
after(async () => {
  await browser?.close();
  site?.close();
  await amqp.closeAll();
  await broker?.stop();
});

it('a page publishes and subscribes over Web-STOMP', async () => {
  const q = uniqueName('page');
  const ch = await amqp.channel();
  await ch.assertQueue(q, { durable: false });
  // The AMQP side answers the page twice on its reply queue.
  await ch.consume(q, (m) => {
    if (!m) return;
    for (const n of [1, 2]) ch.sendToQueue(`${q}-replies`, Buffer.from(`reply ${n}`));
  }, { noAck: true });
  const result = await page.evaluate(
    (port: number, queue: string) =>
      new Promise<string[]>((resolve, reject) => {
        const w = (globalThis as unknown) as { StompJs: { Client: new (o: object) => { activate(): void; deactivate(): void; subscribe(d: string, f: (m: { body: string }) => void): void; publish(o: object): void } } };
        const got: string[] = [];
        const client = new w.StompJs.Client({
          brokerURL: `ws://127.0.0.1:${port}/ws`,
          connectHeaders: { login: 'guest', passcode: 'guest' },
          reconnectDelay: 0,
          onConnect: () => {
            client.subscribe(`/queue/${queue}-replies`, (m) => {
              got.push(m.body);
              if (got.length === 2) {
                client.deactivate();
                resolve(got);
              }
            });
            client.publish({ destination: `/queue/${queue}`, body: 'from the page' });
          },
          onStompError: (f: { headers: Record<string, string> }) => reject(new Error(f.headers.message)),
        });
        client.activate();
        setTimeout(() => reject(new Error(`timeout, got ${JSON.stringify(got)}`)), 8000);
      }),
    broker.webStompPort,
    q,
  );
  assert.deepEqual(result, ['reply 1', 'reply 2']);
});

it('a page publishes and subscribes over Web-MQTT', async () => {
  const topic = uniqueName('pg').replace(/\./g, '-');
  const ch = await amqp.channel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(queue, 'amq.topic', `${topic}.out`);
  const fromPage: string[] = [];
  await ch.consume(queue, (m) => {
    if (!m) return;
    fromPage.push(m.content.toString());
    ch.publish('amq.topic', `${topic}.in`, Buffer.from(`echo ${m.content}`));
  }, { noAck: true });
  const got = await page.evaluate(
    (port: number, t: string) =>
      new Promise<string>((resolve, reject) => {
        const w = (globalThis as unknown) as { mqtt: { connect(url: string, o: object): { on(e: string, f: (...a: unknown[]) => void): void; subscribe(t: string, o: object, cb: () => void): void; publish(t: string, p: string, o: object): void; end(): void } } };
        const c = w.mqtt.connect(`ws://127.0.0.1:${port}/ws`, { protocolVersion: 5, reconnectPeriod: 0 });
        c.on('error', (e) => reject(e));
        c.on('connect', () => c.subscribe(`${t}/in`, { qos: 1 }, () => c.publish(`${t}/out`, 'hello from chromium', { qos: 1 })));
        c.on('message', (_topic, payload) => {
          c.end();
          resolve(String(payload));
        });
        setTimeout(() => reject(new Error('timeout')), 8000);
      }),
    broker.webMqttPort,
    topic,
  );
  assert.deepEqual(fromPage, ['hello from chromium']);
  assert.equal(got, 'echo hello from chromium');
});

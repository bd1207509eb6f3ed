/// <reference lib="dom" />
// The web UI in Debian's chromium (headless, driven by puppeteer-core): log in, see a queue with its
// message rate, publish and get a message, create a user, export definitions. With WARREN_UI_SCREENSHOTS=dir
// it also saves a screenshot of each page (how docs/ui-*.png are made).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { uniqueName, waitFor } from '../helpers/amqp-test';
import { api, enc, mgmtFixture } from './mgmt-support';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (apt-get install chromium)`);

const { m, clients } = mgmtFixture(500);
const shots = process.env.WARREN_UI_SCREENSHOTS;
const downloads = mkdtempSync(join(tmpdir(), 'warren-ui-'));
let browser: Browser;
let page: Page;

before(async () => {
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
});
after(async () => {
  await browser?.close();
  rmSync(downloads, { recursive: true, force: true });
});

async function shot(name: string): Promise<void> {
  if (shots) await page.screenshot({ path: join(shots, `ui-${name}.png`), fullPage: true });
}

/** Waits until a point of the pages' 5 s sample grid lies after now (samples sit on multiples of 5 s, newest first). */
async function pastNextGridPoint(): Promise<void> {
  await new Promise((r) => setTimeout(r, 5000 - (Date.now() % 5000) + 700));
}

async function text(selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? '');
}

describe('web UI in headless chromium', () => {
  it('refuses a bad login, then logs in as guest and shows the overview', async () => {
    await page.goto(`${m().base}/`);
    await page.waitForSelector('#login');
    await page.type('input[name=username]', 'guest');
    await page.type('input[name=password]', 'nope');
    await page.click('#login button');
    await page.waitForFunction(() => document.querySelector('#login .msg')?.textContent?.includes('Login failed'));
    // the form is drawn again, empty, with the message
    await page.type('input[name=username]', 'guest');
    await page.type('input[name=password]', 'guest');
    await page.click('#login button');
    await page.waitForSelector('#total-queues');
    assert.match(await text('#who'), /guest/);
  });

  it('shows a queue with its message rate, publishes and gets a message, purges', async () => {
    const q = uniqueName('ui');
    const ch = await (await clients.connect()).createConfirmChannel();
    await ch.assertQueue(q, { durable: false });
    // traffic for a visible rate: a steady trickle while the page samples
    const trickle = setInterval(() => ch.sendToQueue(q, Buffer.from('tick')), 20);
    try {
      await page.goto(`${m().base}/#/queues?page=1&page_size=100&name=${enc(q)}`);
      await page.waitForFunction((name) => [...document.querySelectorAll('td a')].some((a) => a.textContent === name), {}, q);
      await page.goto(`${m().base}/#/queues/%2F/${enc(q)}`);
      await page.waitForFunction(() => parseFloat(document.querySelector('#q-rate')?.textContent ?? '0') > 0, { timeout: 15_000, polling: 200 });
    } finally {
      clearInterval(trickle);
    }
    await ch.waitForConfirms();
    await shot('queue');
    await page.click('#purge');
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 0);
    // the page redraws after a purge: wait for it before typing
    await page.waitForFunction(() => document.querySelector('#q-total')?.textContent === '0');
    await page.type('#publish textarea', 'hello from the browser');
    await page.click('#publish button');
    await page.waitForFunction(() => document.querySelector('#flash')?.textContent?.includes('Message published.'));
    await page.select('#get select[name=ackmode]', 'ack_requeue_false');
    await page.click('#get button');
    await page.waitForSelector('#got pre.payload');
    assert.equal(await text('#got pre.payload'), 'hello from the browser');
    await shot('queue-get');
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
  });

  it('charts a queue from samples taken before its page was opened, and moves its messages to another queue', async () => {
    const q = uniqueName('ui-history');
    const dest = uniqueName('ui-dest');
    const ch = await (await clients.connect()).createConfirmChannel();
    await ch.assertQueue(q, { durable: true });
    await ch.assertQueue(dest, { durable: true });
    // traffic while no page is open: a few of the broker's 500 ms samples
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${round * 5 + i}`), { persistent: true });
      await ch.waitForConfirms();
      await new Promise((r) => setTimeout(r, 300));
    }
    await pastNextGridPoint();
    const openedSec = Date.now() / 1000;
    await page.goto(`${m().base}/#/queues/%2F/${enc(q)}`);
    await page.waitForSelector('#c-queue-lengths .uplot');
    await page.waitForSelector('#c-queue .uplot');
    // uPlot's data of each chart: the first timestamp is from before the page was opened
    // `charts` is the app's top-level binding (a script-scope let, not a property of window)
    // (the samples pad the window with zeros, so: a point above zero from before the page was opened)
    const data = (await page.evaluate('charts.map((c) => [c.root.parentElement.id, c.data])')) as [string, number[][]][];
    for (const [id, [t, y]] of data) assert.ok(t.some((x, i) => x < openedSec - 0.5 && y[i] > 0), `${id}: ${JSON.stringify([t, y])}, page opened at ${openedSec}`);
    await shot('queue-history');
    await page.type('#move input[name=dest]', dest);
    await page.click('#move button');
    await page.waitForFunction(() => document.querySelector('#flash')?.textContent?.includes('Moving messages'));
    await waitFor(async () => (await ch.checkQueue(dest)).messageCount === 30, 10_000, 'the messages in the destination');
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    assert.equal(((await ch.get(dest, { noAck: true })) as any).content.toString(), 'm0');
    await page.waitForFunction(() => document.querySelector('#q-total')?.textContent === '0', { timeout: 10_000 });
  });

  it('sets and clears vhost limits, user limits and topic permissions in Admin', async () => {
    const v = uniqueName('ui-limits');
    await api(m(), 'PUT', `/api/vhosts/${enc(v)}`);
    assert.equal((await api(m(), 'PUT', `/api/policies/${enc(v)}/ui-policy`, { body: { pattern: '^x', definition: { 'max-length': 5 } } })).status, 201);
    await page.goto(`${m().base}/#/admin`);
    await page.waitForSelector('#set-vhost-limit');
    await page.select('#set-vhost-limit select[name=vhost]', v);
    await page.select('#set-vhost-limit select[name=limit]', 'max-queues');
    await page.type('#set-vhost-limit input[name=value]', '7');
    await page.click('#set-vhost-limit button');
    await page.waitForSelector(`tr[data-row-vhost-limit="${v}:max-queues"]`).catch(async (err) => {
      throw new Error(`${err.message}; page says: ${await page.$eval('main', (el) => el.textContent?.slice(0, 500))}`);
    });
    assert.deepEqual((await api(m(), 'GET', `/api/vhost-limits/${enc(v)}`)).json, [{ vhost: v, value: { 'max-queues': 7 } }]);
    await page.select('#set-user-limit select[name=user]', 'guest');
    await page.select('#set-user-limit select[name=limit]', 'max-channels');
    await page.type('#set-user-limit input[name=value]', '500');
    await page.click('#set-user-limit button');
    await page.waitForSelector('tr[data-row-user-limit="guest:max-channels"]');
    assert.deepEqual((await api(m(), 'GET', '/api/user-limits/guest')).json, [{ user: 'guest', value: { 'max-channels': 500 } }]);
    await page.select('#set-topic-permission select[name=user]', 'guest');
    await page.select('#set-topic-permission select[name=vhost]', v);
    await page.click('#set-topic-permission button');
    await waitFor(async () => (await api(m(), 'GET', `/api/topic-permissions/${enc(v)}/guest`)).status === 200, 5000, 'the topic permission');
    await page.waitForSelector('[data-topic-permission]');
    await shot('admin-limits');
    await page.click(`tr[data-row-vhost-limit="${v}:max-queues"] button`);
    await page.waitForFunction((sel) => !document.querySelector(sel), {}, `tr[data-row-vhost-limit="${v}:max-queues"]`);
    await page.click('tr[data-row-user-limit="guest:max-channels"] button');
    await page.waitForFunction(() => !document.querySelector('tr[data-row-user-limit="guest:max-channels"]'));
    await page.click('[data-topic-permission]');
    await page.waitForFunction(() => !document.querySelector('[data-topic-permission]'));
    assert.deepEqual((await api(m(), 'GET', `/api/vhost-limits/${enc(v)}`)).json, []);
    assert.deepEqual((await api(m(), 'GET', '/api/user-limits/guest')).json, []);
    assert.equal((await api(m(), 'GET', `/api/topic-permissions/${enc(v)}/guest`)).status, 404);
    await page.click('[data-policy*="ui-policy"]');
    await page.waitForFunction(() => !document.querySelector('[data-policy*="ui-policy"]'));
    assert.equal((await api(m(), 'GET', `/api/policies/${enc(v)}/ui-policy`)).status, 404);
  });

  it('lists connections, channels and exchanges, and publishes from an exchange page', async () => {
    await page.goto(`${m().base}/#/connections`);
    await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length > 0);
    await shot('connections');
    await page.goto(`${m().base}/#/channels`);
    await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length > 0);
    await shot('channels');
    await page.goto(`${m().base}/#/exchanges`);
    await page.waitForFunction(() => [...document.querySelectorAll('td a')].some((a) => a.textContent === 'amq.fanout'));
    await shot('exchanges');
    await page.goto(`${m().base}/#/exchanges/%2F/amq.fanout`);
    await page.waitForSelector('#publish textarea');
    await page.type('#publish textarea', 'nobody listens');
    await page.click('#publish button');
    await page.waitForFunction(() => document.querySelector('#flash')?.textContent?.includes('not routed'));
  });

  it('charts an exchange, a connection and a channel from samples taken before their pages were opened', async () => {
    const v = uniqueName('ui-objects');
    assert.equal((await api(m(), 'PUT', `/api/vhosts/${enc(v)}`)).status, 201);
    const conn = await clients.connect({ vhost: v });
    const ch = await conn.createConfirmChannel();
    const x = uniqueName('ui-x');
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.assertQueue('sink', { durable: false });
    await ch.bindQueue('sink', x, '');
    // traffic while no page is open: a few of the broker's 500 ms samples
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 5; i++) ch.publish(x, '', Buffer.alloc(200));
      await ch.waitForConfirms();
      await new Promise((r) => setTimeout(r, 300));
    }
    const name = (await waitFor(async () => (await api(m(), 'GET', '/api/connections')).json.find((c: any) => c.vhost === v)?.name, 5000, 'the connection')) as string;
    await pastNextGridPoint();
    const openedSec = Date.now() / 1000;
    const startsBefore = async (selector: string) => {
      await page.waitForSelector(`${selector} .uplot`, { timeout: 10_000 });
      // a point above zero from before the page was opened (the samples pad the window with zeros)
      const data = (await page.evaluate(`charts.filter((c) => '#' + c.root.parentElement.id === ${JSON.stringify(selector)}).map((c) => c.data)[0]`)) as number[][];
      assert.ok(data[0].some((t, i) => t < openedSec - 0.5 && data[1][i] > 0), `${selector}: ${JSON.stringify(data)}, page opened at ${openedSec}`);
    };
    await page.goto(`${m().base}/#/exchanges/${enc(v)}/${enc(x)}`);
    await startsBefore('#c-exchange');
    await shot('exchange');
    await page.goto(`${m().base}/#/connections?page=1&page_size=100&name=`);
    await page.waitForFunction((n) => [...document.querySelectorAll('td a')].some((a) => a.textContent === n), {}, name);
    await page.goto(`${m().base}/#/connections/${enc(name)}`);
    await startsBefore('#c-connection');
    assert.match(await text('h1'), /Connection: /);
    await shot('connection');
    await page.click(`main table a[href="#/channels/${enc(`${name} (1)`)}"]`);
    await startsBefore('#c-channel');
    assert.equal(await text('h1'), `Channel: ${name} (1)`);
    await shot('channel');
  });

  it('creates a user in Admin that can then log in, and exports definitions', async () => {
    await page.goto(`${m().base}/#/admin`);
    await page.waitForSelector('#add-user');
    await page.type('#add-user input[name=name]', 'ui-user');
    await page.type('#add-user input[name=password]', 'ui-pass');
    await page.type('#add-user input[name=tags]', 'monitoring');
    await page.click('#add-user button');
    await page.waitForSelector('tr[data-row-user="ui-user"]');
    assert.deepEqual((await api(m(), 'GET', '/api/whoami', { auth: 'ui-user:ui-pass' })).json.tags, ['monitoring']);
    await shot('admin');
    await page.click('#export');
    const file = await waitFor(() => readdirSync(downloads).find((f) => f.startsWith('warren-definitions-') && f.endsWith('.json')), 10_000, 'the definitions download');
    const doc = JSON.parse(readFileSync(join(downloads, file), 'utf8'));
    assert.ok(doc.users.some((u: any) => u.name === 'ui-user'));
  });

  it('charts the overview', async () => {
    await page.goto(`${m().base}/#/`);
    await page.waitForSelector('#c-rates .uplot', { timeout: 15_000 });
    await page.waitForSelector('#c-queued .uplot');
    await shot('overview');
  });

  it('opens a node from the overview and charts its memory, descriptors and churn from before the page opened', async () => {
    const openedSec = Date.now() / 1000;
    const [{ name }] = (await api(m(), 'GET', '/api/nodes')).json;
    await page.goto(`${m().base}/#/`);
    await page.click(`main table a[href="#/nodes/${enc(name)}"]`);
    for (const id of ['c-node-mem', 'c-node-fd', 'c-node-churn']) await page.waitForSelector(`#${id} .uplot`, { timeout: 10_000 });
    const [t, used] = (await page.evaluate(`charts.find((c) => c.root.parentElement.id === 'c-node-mem').data`)) as number[][];
    assert.ok(t.filter((x, i) => x < openedSec - 0.5 && used[i] > 10).length >= 2, `MiB used: ${JSON.stringify([t, used])}`);
    assert.match(await text('h1'), /Node: /);
    await shot('node');
  });
});

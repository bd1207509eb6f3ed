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
});

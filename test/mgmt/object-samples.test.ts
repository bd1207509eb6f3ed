// Chart samples of exchanges, vhosts, connections and channels (RabbitMQ's `*_details.samples` with
// msg_rates_age, lengths_age and data_rates_age), from amqplib traffic published before the request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName, waitFor } from '../helpers/amqp-test';
import { api, enc, mgmtFixture } from './mgmt-support';

const { m, clients } = mgmtFixture(200);
type Samples = { sample: number; timestamp: number }[];
const WINDOW = 'msg_rates_age=60&msg_rates_incr=1&lengths_age=60&lengths_incr=1&data_rates_age=60&data_rates_incr=1';

/** Newest first, at least two points, timestamps falling, newest equal to `newest`, oldest below it. */
function rising(samples: Samples | undefined, newest: number, what: string): void {
  assert.ok(samples && samples.length >= 2, `${what}: ${JSON.stringify(samples)}`);
  assert.equal(samples[0].sample, newest, `${what}: newest sample counts everything`);
  assert.ok(samples[samples.length - 1].sample < newest, `${what}: older samples count less`);
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i].timestamp < samples[i - 1].timestamp, `${what}: newest first`);
}

describe('samples of exchanges, vhosts, connections and channels', () => {
  it('answer the history of traffic sent before the request, in RabbitMQ 3.10 shapes', async () => {
    const v = uniqueName('sv');
    assert.equal((await api(m(), 'PUT', `/api/vhosts/${v}`)).status, 201);
    assert.ok([201, 204].includes((await api(m(), 'PUT', `/api/permissions/${v}/guest`, { body: { configure: '.*', write: '.*', read: '.*' } })).status));
    const conn = await clients.connect({ vhost: v });
    const ch = await clients.confirmChannel(conn);
    const x = uniqueName('sx');
    const q = uniqueName('sq');
    await ch.assertExchange(x, 'fanout', { durable: false });
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, x, '');
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) ch.publish(x, '', Buffer.alloc(100));
      await ch.waitForConfirms();
      await new Promise((r) => setTimeout(r, 450));
    }
    const got = await ch.get(q, { noAck: false });
    assert.ok(got);
    ch.ack(got);
    // samples sit on the incr grid (whole seconds here): the newest is at most 1 s old
    await new Promise((r) => setTimeout(r, 1300));

    const e = (await api(m(), 'GET', `/api/exchanges/${enc(v)}/${enc(x)}?${WINDOW}`)).json;
    rising(e.message_stats.publish_in_details.samples, 20, 'exchange publish_in');
    rising(e.message_stats.publish_out_details.samples, 20, 'exchange publish_out');
    assert.equal(typeof e.message_stats.publish_in_details.rate, 'number');
    assert.equal(typeof e.message_stats.publish_in_details.avg, 'number');
    assert.ok(e.message_stats.publish_in_details.avg_rate > 0);
    assert.equal(e.message_stats.deliver_get_details, undefined, 'an exchange has no deliveries');

    const vh = (await api(m(), 'GET', `/api/vhosts/${enc(v)}?${WINDOW}`)).json;
    rising(vh.message_stats.publish_details.samples, 20, 'vhost publish');
    rising(vh.message_stats.confirm_details.samples, 20, 'vhost confirm');
    assert.equal(vh.message_stats.deliver_get_details.samples[0].sample, 1);
    assert.equal(vh.message_stats.ack_details.samples[0].sample, 1);
    assert.equal(vh.messages_ready_details.samples[0].sample, 19);
    assert.ok(vh.messages_details.samples.some((s: { sample: number }) => s.sample > 0 && s.sample < 19), 'lengths from before');
    rising(vh.recv_oct_details.samples, vh.recv_oct_details.samples[0].sample, 'vhost recv_oct');
    assert.ok(vh.recv_oct_details.samples[0].sample > 20 * 100, 'the bodies were received');

    const name = (await waitFor(async () => (await api(m(), 'GET', '/api/connections')).json.find((c: any) => c.vhost === v)?.name, 5000, 'the connection')) as string;
    const c = (await api(m(), 'GET', `/api/connections/${enc(name)}?data_rates_age=60&data_rates_incr=1`)).json;
    const recv = c.recv_oct_details.samples as Samples;
    rising(recv, recv[0].sample, 'connection recv_oct');
    assert.ok(recv[0].sample > 2000 && recv[0].sample <= c.recv_oct, `recv_oct samples ${recv[0].sample} of ${c.recv_oct}`);
    assert.ok((c.send_oct_details.samples as Samples)[0].sample > 0);
    assert.equal(typeof c.recv_oct_details.avg_rate, 'number');
    assert.equal(c.message_stats, undefined, 'a connection has no message_stats');
    assert.equal((await api(m(), 'GET', `/api/connections/${enc(name)}`)).json.recv_oct_details.samples, undefined, 'no samples unless asked');

    const channelName = `${name} (1)`;
    const chRow = (await api(m(), 'GET', `/api/channels/${enc(channelName)}?msg_rates_age=60&msg_rates_incr=1`)).json;
    rising(chRow.message_stats.publish_details.samples, 20, 'channel publish');
    rising(chRow.message_stats.confirm_details.samples, 20, 'channel confirm');
    assert.equal(chRow.message_stats.get_details.samples[0].sample, 1);
    assert.equal(chRow.message_stats.ack_details.samples[0].sample, 1);
    // a second, coarser window: at most one sample per 2 s
    const coarse = (await api(m(), 'GET', `/api/channels/${enc(channelName)}?msg_rates_age=60&msg_rates_incr=2`)).json.message_stats.publish_details.samples as Samples;
    for (let i = 1; i < coarse.length; i++) assert.ok(coarse[i - 1].timestamp - coarse[i].timestamp >= 1500);

    for (const path of [`/api/exchanges/${enc(v)}/${enc(x)}`, `/api/vhosts/${enc(v)}`, `/api/connections/${enc(name)}`, `/api/channels/${enc(channelName)}`]) {
      const bad = await api(m(), 'GET', `${path}?data_rates_age=0`);
      assert.equal(bad.status, 400, path);
      assert.match(bad.json.reason, /data_rates_age/);
    }
  });

  it('a connection rate follows its bytes', async () => {
    const conn = await clients.connect();
    const ch = await clients.channel(conn);
    const q = uniqueName('srate');
    await ch.assertQueue(q, { durable: false });
    let sending = true;
    const pump = (async () => {
      while (sending) {
        for (let i = 0; i < 20; i++) ch.sendToQueue(q, Buffer.alloc(1000));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitFor(async () => (await api(m(), 'GET', '/api/connections')).json.some((c: any) => c.recv_oct_details.rate > 10_000), 5000, 'recv_oct_details.rate above 10 kB/s');
      // the vhost's bytes: its rate comes with its samples
      await waitFor(async () => (await api(m(), 'GET', '/api/vhosts/%2F?data_rates_age=60&data_rates_incr=1')).json.recv_oct_details.rate > 10_000, 5000, 'the vhost recv_oct_details.rate above 10 kB/s');
    } finally {
      sending = false;
      await pump;
    }
  });

  it('a node answers node_stats samples: memory, descriptors, sockets, free disk and churn', async () => {
    const [{ name }] = (await api(m(), 'GET', '/api/nodes')).json;
    const before = (await api(m(), 'GET', `/api/nodes/${enc(name)}`)).json.connection_created as number;
    await clients.connect();
    const n = (await waitFor(async () => {
      const r = (await api(m(), 'GET', `/api/nodes/${enc(name)}?node_stats_age=60&node_stats_incr=1`)).json;
      return r.connection_created_details.samples[0].sample === before + 1 ? r : undefined;
    }, 5000, 'the new connection in the samples')) as any;
    const first = (k: string) => (n[`${k}_details`].samples as Samples)[0].sample;
    assert.ok(first('mem_used') > 10_000_000 && first('mem_used') < 4e9, `mem_used ${first('mem_used')}`);
    assert.ok(first('fd_used') > 5, `fd_used ${first('fd_used')}`);
    assert.ok(first('sockets_used') >= 1);
    assert.equal(first('proc_used'), 1);
    assert.ok(first('disk_free') > 0 && Number.isInteger(first('disk_free')), 'free disk kept exactly');
    assert.equal(n.mem_used_details.samples.length, 61, '60 s by 1 s: 61 points, as RabbitMQ');
    assert.equal(typeof n.mem_used_details.avg, 'number');
    assert.equal((await api(m(), 'GET', `/api/nodes/${enc(name)}`)).json.mem_used_details, undefined, 'no samples unless asked');
    assert.equal((await api(m(), 'GET', `/api/nodes/${enc(name)}?node_stats_age=x`)).status, 400);
  });
});

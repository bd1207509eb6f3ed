// Prometheus on its own port: the text exposition parsed strictly, RabbitMQ's metric names, and the key
// series following real amqplib traffic (aggregated /metrics and /metrics/per-object with labels).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName, waitFor } from '../helpers/amqp-test';
import { mgmtFixture } from './mgmt-support';

const { m, clients } = mgmtFixture();

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format (0.0.4); throws on any line that is not a comment, TYPE/HELP or a well-formed sample. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped|histogram|summary)$/.exec(line);
    if (type) {
      assert.ok(!types.has(type[1]), `TYPE of ${type[1]} given twice`);
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
      let consumed = 0;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) {
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        consumed = re.lastIndex;
      }
      assert.equal(consumed, m[3].length, `bad labels in ${line}`);
    }
    assert.ok(types.has(m[1]), `sample ${m[1]} before its TYPE`);
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return { samples, types };
}

async function scrape(path: string) {
  const res = await fetch(`http://127.0.0.1:${m().prometheusPort}${path}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

const value = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

describe('Prometheus metrics', () => {
  it('aggregated /metrics follows publishes, deliveries and acks', async () => {
    const before = (await scrape('/metrics')).samples;
    const received0 = value(before, 'rabbitmq_global_messages_received_total', { protocol: 'amqp091' }) ?? 0;
    assert.equal(value(before, 'rabbitmq_build_info'), 1);
    const conn = await clients.connect();
    const ch = await conn.createConfirmChannel();
    const q = uniqueName('prom');
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 30; i++) ch.sendToQueue(q, Buffer.from('m'));
    await ch.waitForConfirms();
    await ch.prefetch(10);
    let acked = 0;
    await ch.consume(q, (msg) => {
      if (msg && acked < 10) {
        ch.ack(msg);
        acked++;
      }
    });
    await waitFor(() => acked === 10);
    const { samples, types } = await waitFor(async () => {
      const r = await scrape('/metrics');
      return value(r.samples, 'rabbitmq_global_messages_acknowledged_total') === 10 && r;
    });
    assert.equal(types.get('rabbitmq_global_messages_received_total'), 'counter');
    assert.equal(types.get('rabbitmq_queue_messages_ready'), 'gauge');
    assert.equal(value(samples, 'rabbitmq_global_messages_received_total') ?? 0, received0 + 30);
    assert.equal(value(samples, 'rabbitmq_global_messages_confirmed_total'), 30);
    assert.equal(value(samples, 'rabbitmq_global_messages_delivered_consume_manual_ack_total'), 20);
    assert.equal(value(samples, 'rabbitmq_queue_messages_ready'), 10);
    assert.equal(value(samples, 'rabbitmq_queue_messages_unacked'), 10);
    assert.equal(value(samples, 'rabbitmq_queue_messages'), 20);
    assert.equal(value(samples, 'rabbitmq_connections'), 1);
    assert.equal(value(samples, 'rabbitmq_channels'), 1);
    assert.equal(value(samples, 'rabbitmq_consumers'), 1);
    assert.equal(value(samples, 'rabbitmq_channel_messages_published_total'), 30);
    assert.ok((value(samples, 'rabbitmq_process_resident_memory_bytes') ?? 0) > 0);
    assert.ok((value(samples, 'rabbitmq_connections_opened_total') ?? 0) >= 1);
    assert.ok((value(samples, 'rabbitmq_channels_opened_total') ?? 0) >= 1);
    assert.ok((value(samples, 'rabbitmq_queues_created_total') ?? 0) >= 1);
    assert.equal(value(samples, 'rabbitmq_alarms_memory_used_watermark'), 0);
    // aggregated: no per-queue labels
    assert.ok(samples.filter((s) => s.name === 'rabbitmq_queue_messages').every((s) => !('queue' in s.labels)));
  });

  it('/metrics/per-object labels queues, exchanges, channels and connections', async () => {
    const q = uniqueName('promq');
    const ch = await (await clients.connect()).createConfirmChannel();
    await ch.assertQueue(q, { durable: false });
    for (let i = 0; i < 3; i++) ch.publish('amq.direct', 'none', Buffer.from('x'));
    ch.sendToQueue(q, Buffer.from('y'));
    await ch.waitForConfirms();
    const { samples } = await scrape('/metrics/per-object');
    assert.equal(value(samples, 'rabbitmq_queue_messages_ready', { vhost: '/', queue: q }), 1);
    assert.equal(value(samples, 'rabbitmq_queue_info', { queue: q, queue_type: 'rabbit_classic_queue' }), 1);
    assert.equal(value(samples, 'rabbitmq_exchange_messages_unroutable_dropped_total', { vhost: '/', exchange: 'amq.direct' }), 3);
    assert.equal(value(samples, 'rabbitmq_identity_info', { rabbitmq_endpoint: 'per-object' }), 1);
    assert.ok(samples.some((s) => s.name === 'rabbitmq_channel_messages_published_total' && / \(1\)$/.test(s.labels.channel) && s.value === 4));
    assert.ok(samples.some((s) => s.name === 'rabbitmq_connection_incoming_bytes_total' && s.labels.connection.includes(' -> ') && s.value > 0));
    const notFound = await fetch(`http://127.0.0.1:${m().prometheusPort}/nope`);
    assert.equal(notFound.status, 404);
  });
});

// Smoke tests with the other Node clients users run against RabbitMQ: rabbitmq-client and @cloudamqp/amqp-client,
// plus direct reply-to, which RPC helpers in both rely on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection } from 'rabbitmq-client';
import { AMQPClient } from '@cloudamqp/amqp-client';
import { uniqueName, waitFor, withTimeout } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';

const { clients } = brokerFixture();

describe('rabbitmq-client', () => {
  it('publishes with confirms and consumes through a declared topology', async () => {
    const rabbit = new Connection({ url: clients.url(), retryLow: 100, retryHigh: 200, connectionTimeout: 5000 });
    const errors: unknown[] = [];
    rabbit.on('error', (e) => errors.push(e));
    try {
      await rabbit.onConnect(5000);
      const queue = uniqueName('rc-q');
      const exchange = uniqueName('rc-ex');
      const received: string[] = [];
      const consumer = rabbit.createConsumer(
        {
          queue,
          queueOptions: { durable: false, exclusive: true },
          exchanges: [{ exchange, type: 'topic', durable: false, autoDelete: true }],
          queueBindings: [{ exchange, queue, routingKey: 'orders.*' }],
          qos: { prefetchCount: 5 },
        },
        async (msg) => {
          received.push(String(msg.body));
        },
      );
      await new Promise<void>((ok) => (consumer as unknown as { once(e: string, f: () => void): void }).once('ready', ok));
      const pub = rabbit.createPublisher({ confirm: true, maxAttempts: 1 });
      await pub.send({ exchange, routingKey: 'orders.created' }, 'one');
      await pub.send({ exchange, routingKey: 'orders.paid' }, 'two');
      await pub.send({ exchange, routingKey: 'billing.x' }, 'not routed');
      await waitFor(() => received.length >= 2, 5000, 'two deliveries');
      assert.deepEqual(received.sort(), ['one', 'two']);
      await pub.close();
      await consumer.close();
    } finally {
      await rabbit.close();
    }
    assert.deepEqual(errors, []);
  });

  it('does request/response with an RPC client over direct reply-to', async () => {
    const rabbit = new Connection({ url: clients.url(), retryLow: 100, retryHigh: 200 });
    rabbit.on('error', () => {});
    try {
      await rabbit.onConnect(5000);
      const queue = uniqueName('rc-rpc');
      const server = rabbit.createConsumer(
        { queue, queueOptions: { exclusive: true } },
        async (req, reply) => {
          await reply(`pong:${String(req.body)}`);
        },
      );
      await new Promise<void>((ok) => (server as unknown as { once(e: string, f: () => void): void }).once('ready', ok));
      const rpc = rabbit.createRPCClient({ confirm: true, timeout: 5000 });
      const res = await rpc.send(queue, 'ping');
      assert.equal(String(res.body), 'pong:ping');
      await rpc.close();
      await server.close();
    } finally {
      await rabbit.close();
    }
  });
});

describe('@cloudamqp/amqp-client', () => {
  it('declares, publishes, consumes and acks', async () => {
    const client = new AMQPClient(clients.url());
    const conn = await client.connect();
    try {
      const ch = await conn.channel();
      const q = (await ch.queueDeclare(uniqueName('ac-q'), { exclusive: true })).name;
      await ch.confirmSelect();
      await ch.basicPublish('', q, 'hello', { contentType: 'text/plain', headers: { n: 1 } });
      await ch.basicPublish('', q, 'world');
      const got: string[] = [];
      const consumer = await ch.basicConsume(q, { noAck: false }, async (msg) => {
        got.push(msg.bodyToString() ?? '');
        if (msg.properties.contentType) got.push(`type=${msg.properties.contentType}`);
        await msg.ack();
      });
      await waitFor(() => got.length === 3, 5000, 'two messages');
      assert.deepEqual(got, ['hello', 'type=text/plain', 'world']);
      await consumer.cancel();
      const ok = await ch.queueDeclare(q, { passive: true });
      assert.equal(ok.messageCount, 0);
      assert.equal(ok.consumerCount, 0);
    } finally {
      await conn.close();
    }
  });

  it('reports a channel error and keeps the connection', async () => {
    const conn = await new AMQPClient(clients.url()).connect();
    try {
      const ch = await conn.channel();
      await assert.rejects(ch.queueDeclare(uniqueName('missing'), { passive: true }), /404/);
      const ch2 = await conn.channel();
      const ok = await withTimeout(ch2.queueDeclare('', { exclusive: true }), 3000, 'declare on a new channel');
      assert.match(ok.name, /^amq\.gen-/);
    } finally {
      await conn.close();
    }
  });
});

describe('direct reply-to (amqplib)', () => {
  it('routes a reply to amq.rabbitmq.reply-to.<suffix> back to the requesting channel', async () => {
    const conn = await clients.connect();
    const requester = await conn.createChannel();
    const responder = await conn.createChannel();
    const q = (await responder.assertQueue('', { exclusive: true })).queue;
    await responder.consume(
      q,
      (m) => {
        if (!m) return;
        assert.match(m.properties.replyTo, /^amq\.rabbitmq\.reply-to\..+/);
        responder.publish('', m.properties.replyTo, Buffer.from(`re:${m.content}`), {
          correlationId: m.properties.correlationId,
        });
      },
      { noAck: true },
    );
    const reply = new Promise<string>((ok) =>
      requester.consume('amq.rabbitmq.reply-to', (m) => m && ok(`${m.properties.correlationId}/${m.content}`), {
        noAck: true,
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    requester.sendToQueue(q, Buffer.from('question'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c1' });
    assert.equal(await withTimeout(reply, 5000, 'reply'), 'c1/re:question');
    await conn.close();
  });

  it('refuses a reply-to consumer that acknowledges with 406', async () => {
    const conn = await clients.connect();
    const ch = await clients.channel(conn);
    await assert.rejects(ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: false }), /406/);
    await conn.close();
  });
});

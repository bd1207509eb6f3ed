// Error scope: a channel error closes only that channel; a connection error closes only that connection;
// other channels and other clients keep working.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collector, freshClientRoundTrip, rejectsWithCode, uniqueName, waitFor } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { contentHeaderFrame, methodFrame, methods, parseClose, RawClient, shortstr, u16, u8 } from '../helpers/raw-amqp';

const { clients, broker } = brokerFixture();

/** Proves the broker still serves a fresh client end to end. */
const brokerStillWorks = (): Promise<void> => freshClientRoundTrip(clients, 'alive');

describe('channel errors', () => {
  it('close only the failing channel: other channels of the connection keep consuming and publishing', async () => {
    const conn = await clients.connect();
    const good = await clients.channel(conn);
    const q = (await good.assertQueue('', { exclusive: true })).queue;
    const c = collector();
    await good.consume(q, c.onMessage, { noAck: true });
    const bad = await clients.channel(conn);
    await rejectsWithCode(bad.checkQueue(uniqueName('missing')), 404);
    good.sendToQueue(q, Buffer.from('after'));
    await c.waitCount(1);
    assert.equal(c.messages[0]!.content.toString(), 'after');
    assert.equal(conn.errors.length, 0, 'no connection error');
    const again = await clients.channel(conn);
    await again.checkQueue(q);
    await conn.close();
  });

  it('let a raw client answer channel.close, reopen the same channel number and carry on', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake();
      await raw.openChannel(1);
      // queue.declare passive=true of a missing queue
      raw.write(methodFrame(1, 50, 10, Buffer.concat([u16(0), shortstr(uniqueName('missing')), u8(1), Buffer.from([0, 0, 0, 0])])));
      const close = await raw.expectMethod(20, 40);
      assert.equal(close.channel, 1);
      const info = parseClose(close);
      assert.equal(info.replyCode, 404);
      assert.match(info.replyText, /^NOT_FOUND - no queue /);
      assert.equal(info.classId, 50);
      assert.equal(info.methodId, 10);
      raw.write(methods.channelCloseOk(1));
      await raw.openChannel(1);
      raw.write(methods.queueDeclare(1, '', { exclusive: true, autoDelete: false }));
      await raw.expectMethod(50, 11);
    } finally {
      raw.destroy();
    }
  });
});

describe('connection errors', () => {
  async function expectConnectionError(send: (raw: RawClient) => void, code: number): Promise<void> {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake();
      await raw.openChannel(1);
      send(raw);
      const close = await raw.expectConnectionClose();
      assert.equal(close.replyCode, code, `reply: ${close.replyCode} ${close.replyText}`);
      assert.ok(await raw.waitClosed(5000), 'the server closes the socket after close-ok');
    } finally {
      raw.destroy();
    }
    await brokerStillWorks();
  }

  it('channel.open on an already open channel closes the connection with 504', async () => {
    await expectConnectionError((raw) => raw.write(methods.channelOpen(1)), 504);
  });

  it('basic.publish with immediate=true closes the connection with 540', async () => {
    await expectConnectionError((raw) => {
      raw.write(methodFrame(1, 60, 40, Buffer.concat([u16(0), shortstr(''), shortstr('x'), u8(2)])));
      raw.write(contentHeaderFrame(1, 0));
    }, 540);
  });

  it('channel.flow active=false closes the connection with 540', async () => {
    await expectConnectionError((raw) => raw.write(methodFrame(1, 20, 20, u8(0))), 540);
  });

  it('basic.recover requeue=false closes the connection with 540', async () => {
    await expectConnectionError((raw) => raw.write(methodFrame(1, 60, 110, u8(0))), 540);
  });

  it('a content body without a header closes the connection with 505', async () => {
    await expectConnectionError((raw) => raw.write(Buffer.from([3, 0, 1, 0, 0, 0, 1, 0x41, 0xce])), 505);
  });

  it('deletes the exclusive queues of a connection closed by an error, other clients unaffected', async () => {
    const other = await clients.connect();
    const otherCh = await clients.channel(other);
    const otherQ = (await otherCh.assertQueue('', { exclusive: true })).queue;

    const raw = await RawClient.connect(broker().port, broker().host);
    const q = uniqueName('q-excl-conn-err');
    try {
      await raw.handshake();
      await raw.openChannel(1);
      raw.write(methods.queueDeclare(1, q, { exclusive: true, autoDelete: false }));
      await raw.expectMethod(50, 11);
      raw.write(methods.channelOpen(1)); // 504: connection error
      assert.equal((await raw.expectConnectionClose()).replyCode, 504);
    } finally {
      raw.destroy();
    }
    await waitFor(
      async () => {
        const ch = await clients.channel(other);
        return ch.checkQueue(q).then(() => false, () => true);
      },
      3000,
      'exclusive queue of the failed connection to disappear',
    );
    await otherCh.checkQueue(otherQ);
    assert.equal(other.errors.length, 0);
  });

  it('an amqplib connection error (consumer tag reuse, 530) leaves another amqplib connection working', async () => {
    const victim = await clients.connect();
    const bystander = await clients.connect();
    const bch = await clients.channel(bystander);
    const q = (await bch.assertQueue('', { exclusive: true })).queue;
    const vch = await clients.channel(victim);
    const vq = (await vch.assertQueue('', { exclusive: true })).queue;
    await vch.consume(vq, () => {}, { consumerTag: 'same' });
    await assert.rejects(vch.consume(vq, () => {}, { consumerTag: 'same' }));
    await waitFor(() => victim.errors.length > 0, 3000, 'victim connection error');
    bch.sendToQueue(q, Buffer.from('still here'));
    const m = await waitFor(() => bch.get(q, { noAck: true }), 3000, 'message on the bystander');
    assert.equal(m.content.toString(), 'still here');
  });
});


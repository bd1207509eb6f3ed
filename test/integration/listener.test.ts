// The AMQP listener's address: by default IPv6 and IPv4 together, as RabbitMQ listens (clients that
// resolve `localhost` to ::1 must connect); WARREN_NODE_IP still narrows it to one address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { startBroker, isExternalBroker } from '../helpers/broker-process';
import { ctlRows } from '../ctl/ctl-support';

async function roundTrip(url: string): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from('hi'));
    await ch.checkQueue(q);
    const m = await ch.get(q, { noAck: true });
    assert.equal(m && m.content.toString(), 'hi');
  } finally {
    await conn.close();
  }
}

describe('AMQP listener address', { skip: isExternalBroker() }, () => {
  it('listens on ::1 and 127.0.0.1 by default (dual-stack), and guest counts as local on both', async () => {
    const broker = await startBroker({ env: { WARREN_NODE_IP: '' } });
    try {
      await roundTrip(`amqp://guest:guest@[::1]:${broker.port}`);
      await roundTrip(`amqp://guest:guest@127.0.0.1:${broker.port}`);
      // IPv4 clients of the dual-stack socket are listed as RabbitMQ lists them, not as ::ffff:127.0.0.1.
      const v4 = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`);
      const v6 = await amqp.connect(`amqp://guest:guest@[::1]:${broker.port}`);
      try {
        const rows = await ctlRows(broker.dataDir, ['list_connections', 'peer_host', 'host']);
        assert.deepEqual(rows.map((r) => `${r.peer_host} ${r.host}`).sort(), ['127.0.0.1 127.0.0.1', '::1 ::1']);
      } finally {
        await v4.close();
        await v6.close();
      }
    } finally {
      await broker.stop();
    }
  });

  it('binds only the address WARREN_NODE_IP names', async () => {
    const broker = await startBroker({ env: { WARREN_NODE_IP: '127.0.0.1' } });
    try {
      await roundTrip(`amqp://guest:guest@127.0.0.1:${broker.port}`);
      await assert.rejects(amqp.connect(`amqp://guest:guest@[::1]:${broker.port}`), /ECONNREFUSED/);
    } finally {
      await broker.stop();
    }
  });
});

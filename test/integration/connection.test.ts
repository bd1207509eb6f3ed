// Connection lifecycle as a client sees it: handshake, server properties, authentication and vhost errors,
// tune negotiation and heartbeats. amqplib for the ordinary paths, a raw socket where exact bytes matter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { isRabbitMqVersion } from '../helpers/broker-process';
import { sleep, uniqueName } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { FRAME_HEARTBEAT, heartbeatFrame, methods, RawClient } from '../helpers/raw-amqp';

const { clients, broker } = brokerFixture();

describe('connection open and close', () => {
  it('opens, uses a channel and closes cleanly', async () => {
    const conn = await clients.connect();
    let closeErr: unknown = 'not closed';
    conn.on('close', (e?: Error) => (closeErr = e));
    const ch = await conn.createChannel();
    const q = uniqueName('conn-open');
    const ok = await ch.assertQueue(q, { exclusive: true });
    assert.equal(ok.queue, q);
    await ch.close();
    await conn.close();
    assert.equal(closeErr, undefined, 'a client-initiated close must not report an error');
    await assert.rejects(conn.createChannel());
  });

  it('sends the server properties and capabilities clients look for', async () => {
    const conn = await clients.connect();
    const props = conn.connection.serverProperties as unknown as Record<string, unknown>;
    for (const key of ['product', 'version', 'platform', 'copyright', 'information']) {
      assert.equal(typeof props[key], 'string', `server property ${key} should be a longstr`);
      assert.ok((props[key] as string).length > 0, `server property ${key} should not be empty`);
    }
    const caps = props.capabilities as Record<string, unknown>;
    assert.equal(typeof caps, 'object');
    for (const cap of [
      'publisher_confirms',
      'exchange_exchange_bindings',
      'basic.nack',
      'consumer_cancel_notify',
      'connection.blocked',
      'consumer_priorities',
      'authentication_failure_close',
      'per_consumer_qos',
      'direct_reply_to',
    ]) {
      assert.equal(caps[cap], true, `capability ${cap} should be true`);
    }
    await conn.close();
  });

  it('offers AMQP 0-9 with PLAIN and AMQPLAIN and en_US in connection.start', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      const hs = await raw.handshake();
      assert.equal(hs.versionMajor, 0);
      assert.equal(hs.versionMinor, 9);
      const mechs = hs.mechanisms.split(' ');
      assert.ok(mechs.includes('PLAIN'), `mechanisms: ${hs.mechanisms}`);
      assert.ok(mechs.includes('AMQPLAIN'), `mechanisms: ${hs.mechanisms}`);
      assert.equal(hs.locales, 'en_US');
    } finally {
      raw.destroy();
    }
  });

  it('authenticates with AMQPLAIN too', async () => {
    const conn = await amqp.connect(clients.url(), { credentials: amqp.credentials.amqplain('guest', 'guest') });
    const ch = await conn.createChannel();
    await ch.checkExchange('amq.direct');
    await conn.close();
  });

  it('refuses a wrong password with 403 ACCESS_REFUSED', async () => {
    await assert.rejects(clients.connect({ password: 'not-the-password' }), (err: Error) => {
      assert.match(err.message, /403/);
      assert.match(err.message, /ACCESS[-_]REFUSED/);
      return true;
    });
  });

  it('refuses an unknown user with 403 ACCESS_REFUSED', async () => {
    await assert.rejects(clients.connect({ user: 'nobody-' + uniqueName('u'), password: 'x' }), /403/);
  });

  it('refuses an unknown vhost with 530 NOT_ALLOWED', async () => {
    await assert.rejects(clients.connect({ vhost: 'no-such-vhost-' + uniqueName('v') }), /ConnectionClose/);
    // amqplib does not show the reply code here, so read it from the raw connection.close.
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await assert.rejects(raw.handshake({ vhost: 'no-such-vhost' }), /connection.close 530/);
    } finally {
      raw.destroy();
    }
  });

  it('keeps accepting connections after refused logins', async () => {
    const ch = await clients.channel();
    await ch.checkExchange('amq.fanout');
  });
});

// RabbitMQ 4.x answers an out-of-range tune-ok with connection.close 530; 3.10 closed the socket silently.
const tuneRefused = isRabbitMqVersion('3.10') ? /connection.close 530|socket closed/ : /connection.close 530/;

describe('tune negotiation', () => {
  it('proposes channel-max 2047, frame-max 131072 and heartbeat 60', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      const hs = await raw.handshake();
      assert.deepEqual(hs.tune, { channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    } finally {
      raw.destroy();
    }
  });

  it('uses the heartbeat and frame-max the client chose (amqplib)', async () => {
    const conn = await clients.connect({ query: 'heartbeat=7&frameMax=16384' });
    const c = conn.connection as unknown as { heartbeat: number; frameMax: number };
    assert.equal(c.heartbeat, 7);
    assert.equal(c.frameMax, 16384);
    // A 100 KB message must now travel in many 16 KiB frames and still arrive intact.
    const ch = await conn.createChannel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const body = Buffer.alloc(100_000, 7);
    ch.sendToQueue(q, body);
    let got: amqp.GetMessage | false = false;
    for (let i = 0; i < 100 && !got; i++) {
      got = await ch.get(q, { noAck: true });
      if (!got) await sleep(20);
    }
    assert.ok(got, 'message should arrive');
    assert.ok(got.content.equals(body));
    await conn.close();
  });

  it('rejects a tune-ok frame-max above the server maximum with 530', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await assert.rejects(raw.handshake({ frameMax: 131072 * 2 }), tuneRefused);
    } finally {
      raw.destroy();
    }
  });

  it('rejects a tune-ok frame-max below FRAME-MIN-SIZE with 530', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await assert.rejects(raw.handshake({ frameMax: 1024 }), tuneRefused);
    } finally {
      raw.destroy();
    }
  });

  it('treats FRAME-MIN-SIZE as 8192 (RabbitMQ 4.1+): frame-max 5000 is refused', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      if (isRabbitMqVersion('3.10')) {
        // RabbitMQ up to 4.0 used 4096 as the minimum, so 5000 is accepted there.
        await raw.handshake({ frameMax: 5000 });
      } else {
        await assert.rejects(raw.handshake({ frameMax: 5000 }), tuneRefused);
      }
    } finally {
      raw.destroy();
    }
  });

  it('refuses opening more channels than the negotiated channel-max with 530', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake({ channelMax: 2 });
      await raw.openChannel(1);
      await raw.openChannel(2);
      raw.write(methods.channelOpen(3));
      const close = await raw.expectConnectionClose();
      assert.equal(close.replyCode, 530);
    } finally {
      raw.destroy();
    }
  });
});

describe('heartbeats', () => {
  it('sends heartbeats at the negotiated interval and keeps a heartbeating client', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake({ heartbeat: 1 });
      const started = Date.now();
      let heartbeats = 0;
      const beat = setInterval(() => raw.write(heartbeatFrame()), 400);
      try {
        while (Date.now() - started < 3500) {
          const f = await raw.nextFrame(3600 - (Date.now() - started));
          if (!f) break;
          if (f.type === FRAME_HEARTBEAT) {
            assert.equal(f.channel, 0);
            assert.equal(f.payload.length, 0);
            heartbeats++;
          }
        }
      } finally {
        clearInterval(beat);
      }
      assert.equal(raw.closed, false, 'a client that sends heartbeats must not be dropped');
      assert.ok(heartbeats >= 2, `expected at least 2 server heartbeats in 3.5 s at 1 s interval, got ${heartbeats}`);
    } finally {
      raw.destroy();
    }
  });

  it('drops a client that stops sending anything after about two heartbeat intervals', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake({ heartbeat: 1 });
      const started = Date.now();
      const closed = await raw.waitClosed(6000);
      const elapsed = Date.now() - started;
      assert.ok(closed, 'the server should close a silent connection within a few heartbeat intervals');
      assert.ok(elapsed >= 900, `closed too early (${elapsed} ms), before one heartbeat interval`);
    } finally {
      raw.destroy();
    }
  });

  it('does not drop an idle amqplib client that heartbeats', async () => {
    const conn = await clients.connect({ query: 'heartbeat=1' });
    let closed = false;
    conn.on('close', () => (closed = true));
    await sleep(3000);
    assert.equal(closed, false);
    const ch = await conn.createChannel();
    await ch.checkExchange('amq.direct');
    await conn.close();
  });
});

// Malformed input over a raw socket. Each case checks the server's answer byte for byte (protocol header)
// or the reply code of the connection.close it sends, and then that another client still gets served.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { isRabbitMqVersion } from '../helpers/broker-process';
import { freshClientRoundTrip, sleep, uniqueName } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import {
  asMethod,
  bodyFrame,
  contentHeaderFrame,
  frame,
  methodFrame,
  methods,
  parseClose,
  RawClient,
  u16,
  type CloseInfo,
} from '../helpers/raw-amqp';

const { clients, broker } = brokerFixture();

/** A fresh amqplib client can still publish and get through the broker. */
const secondClientWorks = (): Promise<void> =>
  freshClientRoundTrip(clients, 'still serving', 'a second client must keep working');

/** Opens a raw connection with channel 1 open. */
async function openRaw(): Promise<RawClient> {
  const raw = await RawClient.connect(broker().port, broker().host);
  await raw.handshake();
  await raw.openChannel(1);
  return raw;
}

async function expectClose(send: (raw: RawClient) => void): Promise<CloseInfo> {
  const raw = await openRaw();
  try {
    send(raw);
    return await raw.expectConnectionClose(5000);
  } finally {
    raw.destroy();
  }
}

describe('protocol header', () => {
  const AMQP_0_9_1 = 'AMQP\x00\x00\x09\x01';
  // Issue 2 asks for `AMQP 0 0 9 1` back (as RabbitMQ 3.x answers); 4.x answers with its AMQP 1.0 header.
  const FOR_GARBAGE = AMQP_0_9_1;

  const cases: Array<[string, Buffer, string]> = [
    ['garbage', Buffer.from('HELLO123'), FOR_GARBAGE],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), FOR_GARBAGE],
    ['AMQP 0-9-2', Buffer.from('AMQP\x00\x00\x09\x02', 'latin1'), AMQP_0_9_1],
    ['AMQP 0-10-0', Buffer.from('AMQP\x00\x00\x0a\x00', 'latin1'), AMQP_0_9_1],
  ];
  for (const [what, header, expected] of cases) {
    it(`answers ${what} with ${JSON.stringify(expected)} and closes the socket`, async () => {
      const raw = await RawClient.connect(broker().port, broker().host);
      try {
        raw.write(header);
        assert.ok(await raw.waitClosed(5000), 'the server must close the socket');
        assert.equal(raw.received.toString('latin1'), expected);
      } finally {
        raw.destroy();
      }
      await secondClientWorks();
    });
  }

  it('accepts the AMQP 0-9 header "AMQP 1 1 0 9" as 0-9-1', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      raw.write(Buffer.from('AMQP\x01\x01\x00\x09', 'latin1'));
      const m = await raw.nextMethod(3000);
      assert.ok(m, 'expected connection.start');
      assert.deepEqual([m.classId, m.methodId], [10, 10]);
    } finally {
      raw.destroy();
    }
  });
});

describe('malformed frames', () => {
  it('closes the connection with 501 on a bad frame-end octet', async () => {
    const close = await expectClose((raw) =>
      raw.write(frame(1, 1, Buffer.from([0, 50, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0]), 0x00)),
    );
    assert.equal(close.replyCode, 501);
    assert.match(close.replyText, /^FRAME_ERROR/);
    await secondClientWorks();
  });

  it('closes the connection with 501 on a frame larger than frame-max', async () => {
    const close = await expectClose((raw) => {
      raw.write(methods.basicPublish(1, '', uniqueName('q')));
      raw.write(contentHeaderFrame(1, 200_000));
      raw.write(bodyFrame(1, Buffer.alloc(140_000))); // negotiated frame-max is 131072
    });
    assert.equal(close.replyCode, 501);
    await secondClientWorks();
  });

  it('closes the connection with 501 on an unknown frame type', async () => {
    const close = await expectClose((raw) => raw.write(frame(9, 1, Buffer.from([1, 2, 3]))));
    assert.equal(close.replyCode, 501);
    await secondClientWorks();
  });

  it('closes the connection with a frame or syntax error on undecodable method arguments', async () => {
    const close = await expectClose((raw) => raw.write(methodFrame(1, 50, 10, Buffer.from([0, 0, 5]))));
    assert.ok([501, 502].includes(close.replyCode), `got ${close.replyCode} ${close.replyText}`);
    await secondClientWorks();
  });

  it('closes the connection with 504 on a method for a channel that is not open', async () => {
    const close = await expectClose((raw) => raw.write(methods.queueDeclare(5, '', { exclusive: true, autoDelete: false })));
    assert.equal(close.replyCode, 504);
    assert.match(close.replyText, /^CHANNEL_ERROR/);
    await secondClientWorks();
  });

  it('closes the connection with 505 on a heartbeat frame on a non-zero channel', async () => {
    const close = await expectClose((raw) => raw.write(frame(8, 1, Buffer.alloc(0))));
    assert.equal(close.replyCode, 505);
    await secondClientWorks();
  });

  it('closes the connection with 505 on a method where a content body was expected', async () => {
    const close = await expectClose((raw) => {
      raw.write(methods.basicPublish(1, '', uniqueName('q')));
      raw.write(contentHeaderFrame(1, 3));
      raw.write(methods.basicGet(1, uniqueName('q')));
    });
    assert.equal(close.replyCode, 505);
    assert.match(close.replyText, /^UNEXPECTED_FRAME/);
    await secondClientWorks();
  });

  it('closes the connection with 505 on a content header without a publish', async () => {
    const close = await expectClose((raw) => raw.write(contentHeaderFrame(1, 3)));
    assert.equal(close.replyCode, 505);
    await secondClientWorks();
  });

  it('terminates the connection on an unknown class or method id (connection.close 503/540 if any)', async () => {
    // RabbitMQ drops the TCP connection without a connection.close here (its method lookup fails); a broker
    // that says why first must use 503 COMMAND_INVALID or 540 NOT_IMPLEMENTED.
    for (const [classId, methodId] of [
      [50, 99],
      [77, 10],
    ] as const) {
      const raw = await openRaw();
      try {
        raw.write(methodFrame(1, classId, methodId, u16(0)));
        let close: CloseInfo | undefined;
        for (;;) {
          const f = await raw.nextFrame(5000);
          if (!f) break;
          const m = asMethod(f);
          if (m && m.classId === 10 && m.methodId === 50) {
            close = parseClose(m);
            raw.write(methods.connectionCloseOk());
          }
        }
        assert.ok(raw.closed, `${classId}/${methodId}: the connection must be closed`);
        if (close) assert.ok([503, 540].includes(close.replyCode), `${classId}/${methodId}: got ${close.replyCode}`);
      } finally {
        raw.destroy();
      }
    }
    await secondClientWorks();
  });

  it('never delivers a message whose body is longer than its header announced', async () => {
    // RabbitMQ (3.x and 4.x) never completes such a message: the channel waits for a body size it cannot reach.
    // A broker may instead close the connection, with 501 or 505. Either way nothing may be enqueued.
    const setup = await clients.connect();
    const ch: amqp.Channel = await setup.createChannel();
    const q = uniqueName('q-long-body');
    await ch.assertQueue(q);
    const raw = await openRaw();
    try {
      raw.write(methods.basicPublish(1, '', q));
      raw.write(contentHeaderFrame(1, 3));
      raw.write(bodyFrame(1, Buffer.from('ab')));
      raw.write(bodyFrame(1, Buffer.from('cdef')));
      raw.write(methods.basicPublish(1, '', q));
      raw.write(contentHeaderFrame(1, 1));
      raw.write(bodyFrame(1, Buffer.from('z')));
      let close: CloseInfo | undefined;
      const deadline = Date.now() + 1500;
      while (Date.now() < deadline && !raw.closed) {
        const m = await raw.nextMethod(deadline - Date.now());
        if (m && m.classId === 10 && m.methodId === 50) {
          close = parseClose(m);
          raw.write(methods.connectionCloseOk());
          break;
        }
      }
      if (close) assert.ok([501, 505].includes(close.replyCode), `got ${close.replyCode} ${close.replyText}`);
      await sleep(100);
      const ok = await ch.checkQueue(q);
      assert.equal(ok.messageCount, 0, 'no message, truncated or overlong, may be enqueued');
    } finally {
      raw.destroy();
    }
    await ch.deleteQueue(q);
    await setup.close();
    await secondClientWorks();
  });
});

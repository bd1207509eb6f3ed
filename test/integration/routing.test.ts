// Routing semantics per exchange type: topic wildcards, headers x-match variants, fanout and direct.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { rejectsWithCode, sleep, uniqueName } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

async function drain(ch: amqp.Channel, q: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (!m) return out;
    out.push(m.content.toString());
  }
}

/** Declares an exchange, binds a fresh queue per pattern, publishes each key, returns which keys each pattern got. */
async function routeMatrix(
  type: string,
  bindings: Array<{ key: string; args?: Record<string, unknown> }>,
  publishes: Array<{ key: string; headers?: Record<string, unknown> }>,
): Promise<string[][]> {
  const ch = await clients.channel(conn);
  const ex = uniqueName(`route-${type}`);
  await ch.assertExchange(ex, type, { durable: false, autoDelete: false });
  const queues: string[] = [];
  for (const b of bindings) {
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, b.key, b.args);
    queues.push(q);
  }
  publishes.forEach((p, i) => ch.publish(ex, p.key, Buffer.from(`${i}:${p.key}`), { headers: p.headers }));
  // A confirm round trip on another channel would not order against this one; a short settle is enough here.
  await sleep(150);
  const result: string[][] = [];
  for (const q of queues) result.push((await drain(ch, q)).map((s) => s.slice(s.indexOf(':') + 1)));
  await ch.deleteExchange(ex);
  await ch.close();
  return result;
}

describe('topic exchange', () => {
  const cases: Array<[string, string[], string[]]> = [
    // [binding key, routing keys that match, routing keys that do not]
    ['a.b.c', ['a.b.c'], ['a.b', 'a.b.c.d', 'a.x.c']],
    ['a.*.c', ['a.b.c', 'a.x.c'], ['a.c', 'a.b.b.c', 'a.b.c.d']],
    ['*', ['a', 'xyz'], ['', 'a.b']],
    ['#', ['', 'a', 'a.b.c'], []],
    ['a.#', ['a', 'a.b', 'a.b.c'], ['b', 'ab', 'b.a']],
    ['#.c', ['c', 'a.c', 'a.b.c'], ['c.a', 'ac']],
    ['a.#.b', ['a.b', 'a.x.b', 'a.x.y.b'], ['a', 'a.b.c', 'b.a.b.x']],
    ['*.#', ['a', 'a.b', 'a.b.c'], ['']],
    ['#.*.#', ['a', 'a.b'], ['']],
    ['a.*.#', ['a.b', 'a.b.c'], ['a', 'b.c']],
    ['*.b.*', ['a.b.c'], ['a.b', 'b.c', 'a.b.c.d']],
  ];
  for (const [binding, yes, no] of cases) {
    it(`binding "${binding}" matches ${JSON.stringify(yes)} and not ${JSON.stringify(no)}`, async () => {
      const keys = [...yes, ...no];
      const [got] = await routeMatrix('topic', [{ key: binding }], keys.map((key) => ({ key })));
      assert.deepEqual(got, yes);
    });
  }

  it('delivers once to a queue bound with several matching patterns', async () => {
    const ch = await clients.channel(conn);
    const ex = uniqueName('topic-multi');
    await ch.assertExchange(ex, 'topic', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, 'a.*');
    await ch.bindQueue(q, ex, 'a.#');
    await ch.bindQueue(q, ex, '#');
    ch.publish(ex, 'a.b', Buffer.from('one'));
    await sleep(100);
    assert.deepEqual(await drain(ch, q), ['one']);
    await ch.deleteExchange(ex);
    await ch.close();
  });
});

describe('headers exchange', () => {
  const msgs = [
    { key: 'm0', headers: { format: 'pdf', type: 'report' } },
    { key: 'm1', headers: { format: 'pdf' } },
    { key: 'm2', headers: { format: 'zip', type: 'report' } },
    { key: 'm3', headers: {} },
    { key: 'm4', headers: { format: 'pdf', type: 'report', 'x-tag': 'v' } },
    { key: 'm5', headers: { 'x-tag': 'v' } },
    { key: 'm6', headers: { format: 'pdf', type: 'report', extra: 1 } },
  ];

  it('x-match all (the default) needs every binding header to match', async () => {
    const [explicitAll, defaultAll] = await routeMatrix(
      'headers',
      [
        { key: '', args: { 'x-match': 'all', format: 'pdf', type: 'report' } },
        { key: '', args: { format: 'pdf', type: 'report' } },
      ],
      msgs,
    );
    assert.deepEqual(explicitAll, ['m0', 'm4', 'm6']);
    assert.deepEqual(defaultAll, ['m0', 'm4', 'm6']);
  });

  it('x-match any needs one binding header to match', async () => {
    const [got] = await routeMatrix('headers', [{ key: '', args: { 'x-match': 'any', format: 'pdf', type: 'report' } }], msgs);
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm4', 'm6']);
  });

  it('x-match all / any ignore x- headers in the binding', async () => {
    const [all, any] = await routeMatrix(
      'headers',
      [
        { key: '', args: { 'x-match': 'all', 'x-tag': 'v' } },
        { key: '', args: { 'x-match': 'any', 'x-tag': 'v' } },
      ],
      msgs,
    );
    // "all" over zero non-x headers matches everything; "any" over zero headers matches nothing.
    assert.deepEqual(all, msgs.map((m) => m.key));
    assert.deepEqual(any, []);
  });

  it('x-match all-with-x and any-with-x also compare x- headers', async () => {
    const [allX, anyX] = await routeMatrix(
      'headers',
      [
        { key: '', args: { 'x-match': 'all-with-x', format: 'pdf', 'x-tag': 'v' } },
        { key: '', args: { 'x-match': 'any-with-x', 'x-tag': 'v', type: 'nope' } },
      ],
      msgs,
    );
    assert.deepEqual(allX, ['m4']);
    assert.deepEqual(anyX, ['m4', 'm5']);
  });

  it('compares header values including their type', async () => {
    const [typed] = await routeMatrix(
      'headers',
      [{ key: '', args: { 'x-match': 'all', n: 42 } }],
      [
        { key: 'int', headers: { n: 42 } },
        { key: 'str', headers: { n: '42' } },
        { key: 'other', headers: { n: 43 } },
      ],
    );
    assert.deepEqual(typed, ['int']);
  });

  it('refuses an unknown x-match value with 406', async () => {
    const ch = await clients.channel(conn);
    const ex = uniqueName('headers-bad');
    await ch.assertExchange(ex, 'headers', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await rejectsWithCode(ch.bindQueue(q, ex, '', { 'x-match': 'most' }), 406);
    const ch2 = await clients.channel(conn);
    await ch2.deleteExchange(ex);
    await ch2.close();
  });

  it('routes through amq.match and amq.headers', async () => {
    const ch = await clients.channel(conn);
    const tag = uniqueName('tag');
    const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
    const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q1, 'amq.match', '', { 'x-match': 'all', tag });
    await ch.bindQueue(q2, 'amq.headers', '', { 'x-match': 'any', tag });
    ch.publish('amq.match', '', Buffer.from('m'), { headers: { tag } });
    ch.publish('amq.headers', '', Buffer.from('h'), { headers: { tag } });
    await sleep(100);
    assert.deepEqual(await drain(ch, q1), ['m']);
    assert.deepEqual(await drain(ch, q2), ['h']);
    await ch.close();
  });
});

describe('fanout and direct exchanges', () => {
  it('fanout copies every message to every bound queue, ignoring the routing key', async () => {
    const bindings = Array.from({ length: 8 }, (_, i) => ({ key: `ignored-${i}` }));
    const got = await routeMatrix('fanout', bindings, [{ key: 'x' }, { key: 'y' }, { key: '' }]);
    assert.equal(got.length, 8);
    for (const g of got) assert.deepEqual(g, ['x', 'y', '']);
  });

  it('direct routes by exact key, with several bindings per queue and per key', async () => {
    const [q1, q2, q3] = await routeMatrix(
      'direct',
      [{ key: 'red' }, { key: 'red' }, { key: 'green' }],
      [{ key: 'red' }, { key: 'green' }, { key: 'blue' }, { key: 'Red' }],
    );
    assert.deepEqual(q1, ['red']);
    assert.deepEqual(q2, ['red']);
    assert.deepEqual(q3, ['green']);
  });

  it('direct delivers once to a queue bound with two keys, for each matching key', async () => {
    const ch = await clients.channel(conn);
    const ex = uniqueName('direct-2keys');
    await ch.assertExchange(ex, 'direct', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, 'a');
    await ch.bindQueue(q, ex, 'b');
    await ch.bindQueue(q, ex, 'a'); // duplicate binding is idempotent
    ch.publish(ex, 'a', Buffer.from('a'));
    ch.publish(ex, 'b', Buffer.from('b'));
    ch.publish(ex, 'c', Buffer.from('c'));
    await sleep(100);
    assert.deepEqual(await drain(ch, q), ['a', 'b']);
    await ch.unbindQueue(q, ex, 'a');
    ch.publish(ex, 'a', Buffer.from('a2'));
    ch.publish(ex, 'b', Buffer.from('b2'));
    await sleep(100);
    assert.deepEqual(await drain(ch, q), ['b2']);
    await ch.deleteExchange(ex);
    await ch.close();
  });

  it('sender-selected distribution: CC and BCC headers add routing keys, BCC is stripped', async () => {
    const ch = await clients.channel(conn);
    const ex = uniqueName('direct-cc');
    await ch.assertExchange(ex, 'direct', { durable: false });
    const qs: string[] = [];
    for (const key of ['main', 'cc', 'bcc']) {
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindQueue(q, ex, key);
      qs.push(q);
    }
    ch.publish(ex, 'main', Buffer.from('x'), { CC: ['cc'], BCC: ['bcc'] } as amqp.Options.Publish);
    await sleep(100);
    for (const q of qs) {
      const m = await ch.get(q, { noAck: true });
      assert.ok(m, `queue ${q} should get a copy`);
      assert.deepEqual(m.properties.headers?.CC, ['cc']);
      assert.equal(m.properties.headers?.BCC, undefined, 'BCC must be stripped');
    }
    await ch.deleteExchange(ex);
    await ch.close();
  });
});

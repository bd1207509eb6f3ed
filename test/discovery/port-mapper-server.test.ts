import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { EpmdCode, encodeAlive2Request, encodePortPlease2Request, encodeSimpleRequest, encodeStopRequest, NodeType } from '../../cluster/discovery/epmd-codec';
import { ensurePortMapper } from '../../cluster/discovery/ensure-port-mapper';
import { lookupPort, names, register } from '../../cluster/discovery/port-mapper-client';
import { PortMapperError } from '../../cluster/discovery/port-mapper-errors';
import { nextCreation, PortMapperRegistry } from '../../cluster/discovery/port-mapper-registry';
import { PortMapperServer } from '../../cluster/discovery/port-mapper-server';
import { freePort, rawExchange, waitFor } from './support';

const entry = (name: string, highestVersion = 6) => ({
  name,
  port: 25672,
  nodeType: NodeType.NORMAL,
  protocol: 0,
  highestVersion,
  lowestVersion: 5,
  extra: Buffer.alloc(0),
});

describe('port mapper registry', () => {
  test('creation: clock-seeded and >= 4 for version 6, bumped on re-registration; 1..3 for older nodes', () => {
    assert.equal(nextCreation(undefined, true, 1_700_000_000), 1_700_000_000);
    assert.equal(nextCreation(undefined, true, 2), 4);
    assert.equal(nextCreation(1_700_000_000, true, 0), 1_700_000_001);
    assert.equal(nextCreation(0xffffffff, true, 0), 4);
    assert.equal(nextCreation(undefined, false, 7), 2);
    assert.deepEqual([1, 2, 3].map((c) => nextCreation(c, false, 0)), [2, 3, 1]);
  });

  test('a name is owned by one connection; it frees on unregister and comes back with a new creation', () => {
    const registry = new PortMapperRegistry<string>(() => 1000);
    const first = registry.register(entry('a'), 'conn1');
    assert.equal(first?.creation, 1000);
    assert.equal(registry.register(entry('a'), 'conn2'), undefined);
    registry.register(entry('b'), 'conn2');
    assert.deepEqual(registry.list().map((r) => r.entry.name), ['b', 'a']);
    assert.deepEqual(registry.unregisterOwner('conn1'), ['a']);
    assert.equal(registry.lookup('a'), undefined);
    assert.equal(registry.register(entry('a'), 'conn3')?.creation, 1001);
  });
});

describe('port mapper server with Warren client', () => {
  let server: PortMapperServer;
  let epmdPort: number;

  before(async () => {
    server = new PortMapperServer({ port: 0, host: '127.0.0.1', killPolicy: 'refuse' });
    await server.listen();
    epmdPort = server.port;
  });
  after(() => server.close());

  test('register, look up, list; a registration lives exactly as long as its connection', async () => {
    const handle = await register('alpha', 31001, { epmdPort, extra: Buffer.from('hi') });
    assert.ok(handle.creation >= 4);
    const info = await lookupPort('127.0.0.1', 'alpha', { epmdPort });
    assert.equal(info?.port, 31001);
    assert.equal(info?.name, 'alpha');
    assert.deepEqual(info?.extra, Buffer.from('hi'));
    assert.deepEqual(await names('127.0.0.1', { epmdPort }), { epmdPort, nodes: [{ name: 'alpha', port: 31001 }] });
    assert.equal(await lookupPort('127.0.0.1', 'nobody', { epmdPort }), undefined);

    await handle.close();
    assert.equal(handle.lost, false);
    await waitFor(async () => (await names('127.0.0.1', { epmdPort })).nodes.length === 0);
    assert.equal(await lookupPort('127.0.0.1', 'alpha', { epmdPort }), undefined);

    // The name comes back with the next creation.
    const again = await register('alpha', 31002, { epmdPort });
    assert.equal(again.creation, handle.creation + 1);
    await again.close();
  });

  test('a duplicate name is refused with NAME_TAKEN while the first is registered', async () => {
    const first = await register('dup', 31003, { epmdPort });
    await assert.rejects(register('dup', 31004, { epmdPort }), (err: unknown) => err instanceof PortMapperError && err.code === 'NAME_TAKEN');
    assert.equal((await lookupPort('127.0.0.1', 'dup', { epmdPort }))?.port, 31003);
    await first.close();
  });

  test('an old (version 5) node gets ALIVE2_RESP with a creation in 1..3', async () => {
    const reply = await rawExchange(epmdPort, [encodeAlive2Request(entry('old', 5))], { timeoutMs: 200 });
    assert.equal(reply.received[0], EpmdCode.ALIVE2_RESP);
    assert.equal(reply.received.length, 4);
    assert.equal(reply.received[1], 0);
    assert.ok([1, 2, 3].includes(reply.received.readUInt16BE(2)));
    assert.equal(reply.closed, false, 'the registration connection stays open');
  });

  test('requests split into single bytes are reassembled', async () => {
    const handle = await register('slow', 31005, { epmdPort });
    const request = encodePortPlease2Request('slow');
    const reply = await rawExchange(epmdPort, [...request].map((b) => Buffer.of(b)), { gapMs: 5 });
    assert.equal(reply.closed, true);
    assert.equal(reply.received[0], EpmdCode.PORT2_RESP);
    assert.equal(reply.received.readUInt16BE(2), 31005);
    await handle.close();
  });

  test('garbage closes the offending connection and the server keeps serving', async () => {
    const handle = await register('survivor', 31006, { epmdPort });
    const garbage = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0, 0]),
      Buffer.from([0xff, 0xff, 1, 2, 3]),
      Buffer.from([0, 1, 0x41]),
      Buffer.from([0, 3, EpmdCode.ALIVE2_REQ, 1, 2]),
      Buffer.from([0, 2, EpmdCode.PORT_PLEASE2_REQ, 0]),
    ];
    for (const bytes of garbage) {
      const reply = await rawExchange(epmdPort, [bytes]);
      assert.equal(reply.closed, true, `closed after ${bytes.toString('hex')}`);
      assert.equal(reply.received.length, 0, `no reply to ${bytes.toString('hex')}`);
    }
    assert.equal((await lookupPort('127.0.0.1', 'survivor', { epmdPort }))?.port, 31006);
    assert.equal(handle.lost, false);
    await handle.close();
  });

  test('random garbage on many connections never takes the server down', async () => {
    const handle = await register('steady', 31009, { epmdPort });
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const exchanges: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      const bytes = Buffer.alloc(1 + Math.floor(random() * 64));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      // Half of them get a plausible length prefix, so the body decoder sees the garbage.
      if (random() < 0.5 && bytes.length > 2) bytes.writeUInt16BE(bytes.length - 2, 0);
      exchanges.push(rawExchange(epmdPort, [bytes], { timeoutMs: 300 }));
    }
    await Promise.all(exchanges);
    assert.deepEqual((await names('127.0.0.1', { epmdPort })).nodes.map((n) => n.name).includes('steady'), true);
    assert.equal(handle.lost, false);
    await handle.close();
  });

  test('an idle connection that is not a registration is closed after idleTimeoutMs; excess connections are refused', async () => {
    const strict = new PortMapperServer({ port: 0, host: '127.0.0.1', idleTimeoutMs: 100, maxConnections: 1 });
    await strict.listen();
    try {
      const started = Date.now();
      const idle = rawExchange(strict.port, [Buffer.from([0])], { timeoutMs: 2000 });
      await new Promise((r) => setTimeout(r, 30));
      const excess = await rawExchange(strict.port, [], { timeoutMs: 2000 });
      assert.deepEqual(excess, { received: Buffer.alloc(0), closed: true });
      assert.equal((await idle).closed, true);
      assert.ok(Date.now() - started >= 90, 'closed by the idle timer, not at once');
    } finally {
      await strict.close();
    }
  });

  test('bytes after ALIVE2_REQ on the registration connection end the registration', async () => {
    const reply = await rawExchange(epmdPort, [encodeAlive2Request(entry('chatty')), Buffer.from('more')], { gapMs: 50 });
    assert.equal(reply.received[0], EpmdCode.ALIVE2_X_RESP);
    assert.equal(reply.closed, true);
    assert.equal(await lookupPort('127.0.0.1', 'chatty', { epmdPort }), undefined);
  });

  test('an embedded port mapper refuses KILL_REQ; STOP_REQ without relaxed checks is dropped', async () => {
    const kill = await rawExchange(epmdPort, [encodeSimpleRequest(EpmdCode.KILL_REQ)]);
    assert.equal(kill.received.toString(), 'NO');
    const stop = await rawExchange(epmdPort, [encodeStopRequest('x')]);
    assert.deepEqual(stop, { received: Buffer.alloc(0), closed: true });
    assert.ok((await names('127.0.0.1', { epmdPort })).epmdPort === epmdPort);
  });

  test('DUMP_REQ lists active names, NUL after each line', async () => {
    const handle = await register('dumped', 31007, { epmdPort });
    const reply = await rawExchange(epmdPort, [encodeSimpleRequest(EpmdCode.DUMP_REQ)]);
    assert.equal(reply.received.readUInt32BE(0), epmdPort);
    assert.match(reply.received.subarray(4).toString(), /active name {5}<dumped> at port 31007, fd = \d+\n\0/);
    await handle.close();
  });

  test('the client notices when the port mapper goes away (lost registration)', async () => {
    const own = new PortMapperServer({ port: 0, host: '127.0.0.1' });
    await own.listen();
    const handle = await register('orphan', 31008, { epmdPort: own.port });
    await own.close();
    await handle.closed;
    assert.equal(handle.lost, true);
  });
});

describe('standalone kill policy and relaxed commands', () => {
  test('when-idle: KILL refused while nodes are registered, accepted after; relaxed STOP unregisters', async () => {
    let killed = false;
    const server = new PortMapperServer({ port: 0, host: '127.0.0.1', killPolicy: 'when-idle', onKilled: () => (killed = true) });
    await server.listen();
    const epmdPort = server.port;
    const handle = await register('n1', 31010, { epmdPort });
    assert.equal((await rawExchange(epmdPort, [encodeSimpleRequest(EpmdCode.KILL_REQ)])).received.toString(), 'NO');
    await handle.close();
    await waitFor(() => server.registrations().length === 0);
    assert.equal((await rawExchange(epmdPort, [encodeSimpleRequest(EpmdCode.KILL_REQ)])).received.toString(), 'OK');
    await waitFor(() => killed);
    await assert.rejects(names('127.0.0.1', { epmdPort, timeoutMs: 500 }), (err: unknown) => (err as PortMapperError).code === 'PORT_MAPPER_UNAVAILABLE');

    const relaxed = new PortMapperServer({ port: 0, host: '127.0.0.1', killPolicy: 'when-idle', relaxedCommandCheck: true });
    await relaxed.listen();
    const victim = await register('victim', 31011, { epmdPort: relaxed.port });
    assert.equal((await rawExchange(relaxed.port, [encodeStopRequest('victim')])).received.toString(), 'STOPPED');
    assert.equal((await rawExchange(relaxed.port, [encodeStopRequest('victim')])).received.toString(), 'NOEXIST');
    await victim.closed;
    assert.equal(victim.lost, true);
    await relaxed.close();
  });
});

describe('ensurePortMapper', () => {
  test('starts one when none answers, reuses a running one, and picks the winner of a bind race', async () => {
    const port = await freePort();
    const first = await ensurePortMapper(port, { listenHost: '127.0.0.1' });
    assert.ok(first.server, 'the first caller starts the port mapper in-process');
    const second = await ensurePortMapper(port, { listenHost: '127.0.0.1' });
    assert.equal(second.server, undefined, 'the second caller uses the running one');
    const handle = await register('ensured', 31020, { epmdPort: port });
    await second.close(); // does nothing: not ours
    assert.equal((await lookupPort('127.0.0.1', 'ensured', { epmdPort: port }))?.port, 31020);
    await handle.close();
    await first.close();

    // Many callers at once on a fresh port: exactly one starts it, all end up with a working one.
    const racePort = await freePort();
    const all = await Promise.all(Array.from({ length: 5 }, () => ensurePortMapper(racePort, { listenHost: '127.0.0.1' })));
    assert.equal(all.filter((e) => e.server).length, 1);
    assert.equal((await names('127.0.0.1', { epmdPort: racePort })).epmdPort, racePort);
    await Promise.all(all.map((e) => e.close()));
  });

  test('fails clearly when the port is held by something that is not a port mapper', async () => {
    // It reads the request (so its sockets close normally) and answers something that is not EPMD.
    const squatter = createServer((socket) => socket.once('data', () => socket.end('nope')));
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      await assert.rejects(
        ensurePortMapper(port, { listenHost: '127.0.0.1', attempts: 2, probeTimeoutMs: 300 }),
        (err: unknown) => err instanceof PortMapperError && err.code === 'PORT_MAPPER_UNAVAILABLE',
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

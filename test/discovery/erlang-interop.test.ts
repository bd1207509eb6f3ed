// Wire compatibility with Erlang's own tools: epmd's client (`epmd -names`,
// `epmd -kill`), a real Erlang node, and the real epmd daemon. Never on 4369.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ensurePortMapper } from '../../cluster/discovery/ensure-port-mapper';
import { resolveNodeName } from '../../cluster/discovery/node-name';
import { lookupPort, names, register } from '../../cluster/discovery/port-mapper-client';
import { PortMapperError } from '../../cluster/discovery/port-mapper-errors';
import { PortMapperServer } from '../../cluster/discovery/port-mapper-server';
import { epmdCommand, erlangAvailable, freePort, startChild, waitFor, type Child } from './support';

const skip = erlangAvailable() ? false : 'Erlang (epmd, erl) is not installed';
const uniq = `${process.pid}x${Math.floor(Math.random() * 1e6)}`;

describe('Warren port mapper, Erlang clients', { skip }, () => {
  let server: PortMapperServer;
  let epmdPort: number;
  let erlNode: Child | undefined;

  before(async () => {
    epmdPort = await freePort();
    server = new PortMapperServer({ port: epmdPort });
    await server.listen();
  });
  after(async () => {
    await erlNode?.kill();
    await server.close();
  });

  test('`epmd -names` lists a Warren registration, and stops listing it once closed', async () => {
    const handle = await register(`warren${uniq}`, 25672, { epmdPort });
    const listed = await epmdCommand(epmdPort, '-names');
    assert.match(listed, new RegExp(`^epmd: up and running on port ${epmdPort} with data:$`, 'm'));
    assert.match(listed, new RegExp(`^name warren${uniq} at port 25672$`, 'm'));
    await handle.close();
    await waitFor(async () => !(await epmdCommand(epmdPort, '-names')).includes(`warren${uniq}`));
  });

  test('a real Erlang node registers with Warren and looks Warren up; both show in `epmd -names`', async () => {
    const warren = await register(`warrenw${uniq}`, 25999, { epmdPort });
    const erlName = `erl${uniq}`;
    // The node prints what Erlang's own epmd client sees, then waits to be killed.
    // A long name on 127.0.0.1 spares the test any dependence on the host name resolving.
    const script =
      `io:format("port_please=~p~n", [erl_epmd:port_please("warrenw${uniq}", {127,0,0,1})]),` +
      `io:format("names=~p~n", [erl_epmd:names({127,0,0,1})]),` +
      'timer:sleep(infinity).';
    erlNode = startChild('erl', ['-name', `${erlName}@127.0.0.1`, '-setcookie', 'warrentest', '-start_epmd', 'false', '-noshell', '-noinput', '-eval', script], {
      ...process.env,
      ERL_EPMD_PORT: String(epmdPort),
    });
    const info = (await waitFor(() => lookupPort('127.0.0.1', erlName, { epmdPort }), 15_000, 100))!;
    assert.ok(info.port > 0);
    assert.equal(info.highestVersion, 6);
    const resolved = await resolveNodeName(`${erlName}@127.0.0.1`, { epmdPort });
    assert.equal(resolved?.distPort, info.port);

    await waitFor(() => erlNode!.output().includes('names='), 10_000);
    assert.match(erlNode.output(), /port_please=\{port,25999,6\}/);
    assert.match(erlNode.output(), new RegExp(`\\{"warrenw${uniq}",25999\\}`));

    const listed = await epmdCommand(epmdPort, '-names');
    assert.match(listed, new RegExp(`^name ${erlName} at port ${info.port}$`, 'm'));
    assert.match(listed, new RegExp(`^name warrenw${uniq} at port 25999$`, 'm'));

    // The Erlang node's registration ends with its connection.
    await erlNode.kill();
    erlNode = undefined;
    await waitFor(async () => (await lookupPort('127.0.0.1', erlName, { epmdPort })) === undefined);
    await warren.close();
  });
});

describe('Warren client, real epmd daemon', { skip }, () => {
  let epmd: Child;
  let epmdPort: number;

  before(async () => {
    epmdPort = await freePort();
    epmd = startChild('epmd', ['-port', String(epmdPort)]);
    await waitFor(async () => {
      try {
        await names('127.0.0.1', { epmdPort, timeoutMs: 500 });
        return true;
      } catch {
        return false;
      }
    });
  });
  after(async () => {
    await epmdCommand(epmdPort, '-kill').catch(() => '');
    await epmd.kill();
  });

  test('register, duplicate, look up, list and unregister against epmd itself', async () => {
    const a = await register(`wa${uniq}`, 31001, { epmdPort, extra: Buffer.from('x') });
    const b = await register(`wb${uniq}`, 31002, { epmdPort, highestVersion: 5, lowestVersion: 5 });
    assert.ok(a.creation >= 4, 'version 6 creation from ALIVE2_X_RESP');
    assert.ok([1, 2, 3].includes(b.creation), 'version 5 creation from ALIVE2_RESP');
    await assert.rejects(register(`wa${uniq}`, 31003, { epmdPort }), (err: unknown) => (err as PortMapperError).code === 'NAME_TAKEN');

    const info = await lookupPort('127.0.0.1', `wa${uniq}`, { epmdPort });
    assert.deepEqual(
      { port: info?.port, name: info?.name, extra: info?.extra.toString(), nodeType: info?.nodeType },
      { port: 31001, name: `wa${uniq}`, extra: 'x', nodeType: 77 },
    );
    assert.equal(await lookupPort('127.0.0.1', `nobody${uniq}`, { epmdPort }), undefined);
    const listed = await names('127.0.0.1', { epmdPort });
    assert.equal(listed.epmdPort, epmdPort);
    assert.deepEqual(
      listed.nodes.map((n) => `${n.name}:${n.port}`).sort(),
      [`wa${uniq}:31001`, `wb${uniq}:31002`],
    );

    // epmd refuses to die while nodes are registered.
    assert.match(await epmdCommand(epmdPort, '-kill'), /not allowed/i);
    await a.close();
    await b.close();
    await waitFor(async () => (await names('127.0.0.1', { epmdPort })).nodes.length === 0);
    // Re-registering a name gets a different creation from epmd.
    const again = await register(`wa${uniq}`, 31001, { epmdPort });
    assert.notEqual(again.creation, a.creation);
    await again.close();
  });

  test('ensurePortMapper uses a running epmd instead of starting its own', async () => {
    const ensured = await ensurePortMapper(epmdPort);
    assert.equal(ensured.server, undefined);
    await ensured.close();
  });
});

describe('warren-epmd entry point', { skip }, () => {
  test('serves on WARREN_EPMD_PORT, answers `epmd -names`, refuses then accepts `epmd -kill`', async () => {
    const epmdPort = await freePort();
    const cli = startChild(process.execPath, [resolve(__dirname, '../../src/cli/warren-epmd.js')], {
      ...process.env,
      WARREN_EPMD_PORT: String(epmdPort),
      ERL_EPMD_PORT: '1',
      WARREN_LOG_LEVEL: 'warn',
    });
    try {
      await waitFor(async () => (await epmdCommand(epmdPort, '-names').catch(() => '')).includes('up and running'));
      const handle = await register(`cli${uniq}`, 31100, { epmdPort });
      assert.match(await epmdCommand(epmdPort, '-names'), new RegExp(`name cli${uniq} at port 31100`));
      assert.match(await epmdCommand(epmdPort, '-kill'), /not allowed/i);
      await handle.close();
      await waitFor(async () => !(await epmdCommand(epmdPort, '-names')).includes(`cli${uniq}`));
      assert.match(await epmdCommand(epmdPort, '-kill'), /Killed/);
      assert.equal(await cli.exited, 0);
    } finally {
      await cli.kill();
    }
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DiscoveredPeer } from '../../cluster/discovery/discovery';
import { DnsDiscovery } from '../../cluster/discovery/dns-discovery';
import { formatNodeName, isNodeName, localNodeName, parseNodeName, resolveNodeName } from '../../cluster/discovery/node-name';
import { register } from '../../cluster/discovery/port-mapper-client';
import { PortMapperServer } from '../../cluster/discovery/port-mapper-server';
import { parseNodeList, StaticDiscovery } from '../../cluster/discovery/static-discovery';

describe('node names', () => {
  test('parse and format alive@host', () => {
    assert.deepEqual(parseNodeName('warren@host-1'), { alive: 'warren', host: 'host-1' });
    assert.deepEqual(parseNodeName('warren@10.0.0.7'), { alive: 'warren', host: '10.0.0.7' });
    assert.equal(formatNodeName('warren', 'db.example.com'), 'warren@db.example.com');
    for (const bad of ['warren', '@host', 'warren@', 'a@b@c', 'war\0ren@h', 'warren@ho st']) {
      assert.throws(() => parseNodeName(bad), TypeError, bad);
      assert.equal(isNodeName(bad), false);
    }
    assert.equal(localNodeName('warren', { host: 'box.example.com' }), 'warren@box');
    assert.equal(localNodeName('warren', { host: 'box.example.com', longNames: true }), 'warren@box.example.com');
    assert.match(localNodeName(), /^warren@[^.@]+$/);
  });

  test('resolveNodeName asks the host port mapper for the inter-node port', async () => {
    const server = new PortMapperServer({ port: 0, host: '127.0.0.1' });
    await server.listen();
    try {
      const handle = await register('warren', 25699, { epmdPort: server.port });
      assert.deepEqual(await resolveNodeName('warren@127.0.0.1', { epmdPort: server.port }), {
        nodeName: 'warren@127.0.0.1',
        alive: 'warren',
        host: '127.0.0.1',
        distPort: 25699,
      });
      assert.equal(await resolveNodeName('other@127.0.0.1', { epmdPort: server.port }), undefined);
      await handle.close();
    } finally {
      await server.close();
    }
  });
});

describe('static discovery', () => {
  test('parses WARREN_CLUSTER_NODES, adds the default alive name to bare hosts, drops duplicates and self', async () => {
    assert.deepEqual(parseNodeList(' warren@a, warren@b ,c,, warren@a '), ['warren@a', 'warren@b', 'warren@c']);
    assert.throws(() => parseNodeList('warren@a,@b'), TypeError);
    const seen: DiscoveredPeer[] = [];
    const discovery = new StaticDiscovery('warren@a,warren@b,warren@c', { self: 'warren@b' });
    await discovery.start((peer) => seen.push(peer));
    await discovery.stop();
    assert.deepEqual(seen, [
      { nodeName: 'warren@a', host: 'a', source: 'static' },
      { nodeName: 'warren@c', host: 'c', source: 'static' },
    ]);
  });
});

describe('DNS discovery', () => {
  test("resolves 'localhost' to warren@127.0.0.1, once, across rounds", async () => {
    const seen: DiscoveredPeer[] = [];
    const discovery = new DnsDiscovery({ names: ['localhost'], intervalMs: 20 });
    await discovery.start((peer) => seen.push(peer));
    await discovery.settled();
    await new Promise((r) => setTimeout(r, 100));
    await discovery.stop();
    assert.deepEqual(seen, [{ nodeName: 'warren@127.0.0.1', host: '127.0.0.1', source: 'dns' }]);
  });

  test("hostname style names the node by the address's host name; unresolvable names are skipped", async () => {
    const seen: DiscoveredPeer[] = [];
    const discovery = new DnsDiscovery({
      names: ['no-such-host.invalid', 'localhost'],
      nameStyle: 'hostname',
      alive: 'rabbit',
      intervalMs: 0,
    });
    await discovery.start((peer) => seen.push(peer));
    await discovery.settled();
    await discovery.stop();
    assert.equal(seen.length, 1);
    assert.equal(seen[0].host, '127.0.0.1');
    assert.match(seen[0].nodeName, /^rabbit@localhost/);
  });

  test('self is left out', async () => {
    const seen: DiscoveredPeer[] = [];
    const discovery = new DnsDiscovery({ names: ['localhost'], self: 'warren@127.0.0.1', intervalMs: 0 });
    await discovery.start((peer) => seen.push(peer));
    await discovery.settled();
    await discovery.stop();
    assert.deepEqual(seen, []);
  });
});

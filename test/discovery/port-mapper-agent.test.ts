import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDiscovery, discoveryConfigFromEnv } from '../../cluster/discovery/create-discovery';
import type { DiscoveredPeer } from '../../cluster/discovery/discovery';
import { names } from '../../cluster/discovery/port-mapper-client';
import { PortMapperError } from '../../cluster/discovery/port-mapper-errors';
import { PortMapperAgent } from '../../cluster/discovery/port-mapper-agent';
import { freePort, waitFor } from './support';

const listed = async (epmdPort: number) =>
  (await names('127.0.0.1', { epmdPort }).catch(() => ({ nodes: [] as { name: string; port: number }[] }))).nodes
    .map((n) => `${n.name}:${n.port}`)
    .sort();

describe('port mapper agent', () => {
  test('the first node hosts the port mapper; when it leaves, a survivor takes over and all re-register', async () => {
    const epmdPort = await freePort();
    const options = { epmdPort, listenHost: '127.0.0.1', retryMs: 50 };
    const first = new PortMapperAgent('n1', 31201, options);
    const second = new PortMapperAgent('n2', 31202, options);
    const third = new PortMapperAgent('n3', 31203, options);
    try {
      await first.start();
      await second.start();
      await third.start();
      assert.equal(first.hostsPortMapper, true);
      assert.equal(second.hostsPortMapper, false);
      assert.deepEqual(await listed(epmdPort), ['n1:31201', 'n2:31202', 'n3:31203']);

      // Same name on the same host: refused.
      const clash = new PortMapperAgent('n2', 31299, options);
      await assert.rejects(clash.start(), (err: unknown) => err instanceof PortMapperError && err.code === 'NAME_TAKEN');

      await first.stop();
      await waitFor(async () => (await listed(epmdPort)).join() === 'n2:31202,n3:31203', 5000);
      assert.equal([second, third].filter((a) => a.hostsPortMapper).length, 1, 'exactly one survivor hosts it');
      assert.ok(second.creation !== undefined && third.creation !== undefined);
    } finally {
      await Promise.all([first.stop(), second.stop(), third.stop()]);
    }
    assert.deepEqual(await listed(epmdPort), []);
  });
});

describe('createDiscovery', () => {
  test('runs the configured backends side by side', async () => {
    const config = discoveryConfigFromEnv(
      { WARREN_CLUSTER_NODES: 'warren@a,warren@me', WARREN_CLUSTER_DNS: 'localhost', WARREN_CLUSTER_MDNS: 'false' },
      'warren@me',
      25672,
    );
    assert.deepEqual(config.dnsNames, ['localhost']);
    assert.equal(config.mdns, false);
    const discovery = createDiscovery({ ...config, dnsIntervalMs: 0 });
    assert.equal(discovery.backends.length, 2);
    const seen: DiscoveredPeer[] = [];
    await discovery.start((peer) => seen.push(peer));
    await waitFor(() => seen.length === 2, 2000);
    await discovery.stop();
    assert.deepEqual(seen.map((p) => `${p.source} ${p.nodeName}`).sort(), ['dns warren@127.0.0.1', 'static warren@a']);
    assert.equal(createDiscovery({ self: 'warren@x', distPort: 1 }).backends.length, 0);
  });
});

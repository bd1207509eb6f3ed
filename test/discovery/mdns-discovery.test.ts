import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type makeMdns from 'multicast-dns';
import type { Packet } from 'dns-packet';
import type { DiscoveredPeer } from '../../cluster/discovery/discovery';
import { MdnsDiscovery } from '../../cluster/discovery/mdns-discovery';
import { startChild, waitFor, type Child } from './support';

/** An in-memory multicast group: every packet reaches every member, the sender included. */
class FakeBus {
  readonly members = new Set<FakeMdns>();
  readonly sent: { from: string; packet: Packet }[] = [];

  join(address: string): (options: makeMdns.Options) => makeMdns.MulticastDNS {
    return () => {
      const member = new FakeMdns(this, address);
      this.members.add(member);
      setImmediate(() => member.emit('ready'));
      return member as unknown as makeMdns.MulticastDNS;
    };
  }

  deliver(from: FakeMdns, packet: Packet): void {
    this.sent.push({ from: from.address, packet });
    // Real sockets hand over a decoded copy, not the sender's object.
    const copy = JSON.parse(JSON.stringify(packet)) as Packet;
    const rinfo: RemoteInfo = { address: from.address, family: 'IPv4', port: 5353, size: 0 };
    for (const member of this.members) {
      setImmediate(() => member.emit(copy.type === 'query' ? 'query' : 'response', copy, rinfo));
    }
  }
}

class FakeMdns extends EventEmitter {
  constructor(
    private readonly bus: FakeBus,
    readonly address: string,
  ) {
    super();
  }
  query(packet: Packet, cb?: () => void): void {
    this.bus.deliver(this, { ...packet, type: 'query' });
    cb?.();
  }
  respond(packet: Packet, cb?: () => void): void {
    this.bus.deliver(this, { ...packet, type: 'response' });
    cb?.();
  }
  destroy(cb?: () => void): void {
    this.bus.members.delete(this);
    setImmediate(() => cb?.());
  }
}

describe('mDNS discovery over an in-memory bus', () => {
  test('two nodes find each other with their inter-node ports, never themselves; goodbye lets a return be reported', async () => {
    const bus = new FakeBus();
    const seenByA: DiscoveredPeer[] = [];
    const seenByB: DiscoveredPeer[] = [];
    const a = new MdnsDiscovery({ nodeName: 'warren@host-a', distPort: 25672, createTransport: bus.join('10.0.0.1'), queryIntervalMs: 50 });
    const b = new MdnsDiscovery({ nodeName: 'warren@host.b.example', distPort: 25673, createTransport: bus.join('10.0.0.2'), queryIntervalMs: 50 });
    let b2: MdnsDiscovery | undefined;
    try {
      await a.start((peer) => seenByA.push(peer));
      await b.start((peer) => seenByB.push(peer));
      await waitFor(() => seenByA.length > 0 && seenByB.length > 0, 2000);
      // Periodic queries keep answers coming; each peer is still reported once.
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(seenByA, [{ nodeName: 'warren@host.b.example', host: '10.0.0.2', distPort: 25673, source: 'mdns' }]);
      assert.deepEqual(seenByB, [{ nodeName: 'warren@host-a', host: '10.0.0.1', distPort: 25672, source: 'mdns' }]);

      // What went on the wire: a PTR for the service, SRV/TXT for the instance, A for the host.
      const announcement = bus.sent.find((s) => s.from === '10.0.0.2' && s.packet.type === 'response')!.packet;
      // One A record per IPv4 address of this machine: other tests (network namespaces) may add
      // a bridge address while this runs, so the A records are counted once.
      assert.deepEqual(
        [...new Set([...(announcement.answers ?? []), ...(announcement.additionals ?? [])].map((r) => `${r.type} ${r.name}`))],
        [
          'PTR _warren._tcp.local',
          'SRV warren@host-b-example._warren._tcp.local',
          'TXT warren@host-b-example._warren._tcp.local',
          'A host-b-example.local',
        ],
      );

      await b.stop();
      const goodbye = bus.sent.filter((s) => s.from === '10.0.0.2').at(-1)!.packet;
      assert.equal(goodbye.type, 'response');
      assert.equal(goodbye.answers?.[0].type === 'PTR' && goodbye.answers[0].ttl, 0);

      // b comes back (a new process): a reports it again.
      b2 = new MdnsDiscovery({ nodeName: 'warren@host.b.example', distPort: 25674, createTransport: bus.join('10.0.0.2') });
      await b2.start(() => {});
      await waitFor(() => seenByA.length === 2, 2000);
      assert.equal(seenByA[1].distPort, 25674);
    } finally {
      await Promise.all([a.stop(), b.stop(), b2?.stop(), a.stop()]);
    }
    assert.equal(bus.members.size, 0);
  });

  test('a foreign service type and malformed records are ignored; a throwing listener does not break discovery', async () => {
    const bus = new FakeBus();
    const seen: string[] = [];
    const a = new MdnsDiscovery({ nodeName: 'warren@a', distPort: 1, createTransport: bus.join('10.0.0.1') });
    await a.start((peer) => {
      seen.push(peer.nodeName);
      throw new Error('listener bug');
    });
    const intruder = bus.join('10.0.0.9')({});
    intruder.respond({ answers: [{ name: '_other._tcp.local', type: 'PTR', data: 'x._other._tcp.local' }] });
    intruder.respond({ answers: [{ name: '_warren._tcp.local', type: 'PTR', data: 'no-txt._warren._tcp.local' }] });
    intruder.respond({
      answers: [{ name: '_warren._tcp.local', type: 'PTR', data: 'ok._warren._tcp.local' }],
      additionals: [{ name: 'ok._warren._tcp.local', type: 'TXT', data: ['node=warren@ok', 'port=42'] }],
    });
    try {
      await waitFor(() => seen.length > 0, 2000);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(seen, ['warren@ok']);
    } finally {
      await a.stop();
      intruder.destroy();
    }
  });
});

/** Two network namespaces joined by a veth pair: two "hosts" with real multicast between them. */
function netnsAvailable(): string | false {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to create network namespaces';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'the ip tool or network namespaces are unavailable';
  }
}

const netnsSkip = netnsAvailable();

describe('mDNS discovery between two network namespaces (real multicast)', { skip: netnsSkip }, () => {
  test('each node discovers the other, with address and inter-node port', async () => {
    const tag = `${process.pid % 100000}`;
    const [nsA, nsB, vethA, vethB] = [`wdisc${tag}a`, `wdisc${tag}b`, `wdv${tag}a`, `wdv${tag}b`];
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    const peers: Child[] = [];
    try {
      ip('netns', 'add', nsA);
      ip('netns', 'add', nsB);
      ip('link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB);
      ip('link', 'set', vethA, 'netns', nsA);
      ip('link', 'set', vethB, 'netns', nsB);
      ip('-n', nsA, 'addr', 'add', '10.231.0.1/24', 'dev', vethA);
      ip('-n', nsB, 'addr', 'add', '10.231.0.2/24', 'dev', vethB);
      for (const [ns, dev] of [[nsA, vethA], [nsB, vethB]]) {
        ip('-n', ns, 'link', 'set', 'lo', 'up');
        ip('-n', ns, 'link', 'set', dev, 'up');
      }
      const fixture = resolve(__dirname, 'fixtures/mdns-peer.js');
      const spawnPeer = (ns: string, nodeName: string, address: string, distPort: number) =>
        startChild('ip', ['netns', 'exec', ns, process.execPath, fixture], {
          ...process.env,
          WARREN_LOG_LEVEL: 'silent',
          NODE_NAME: nodeName,
          DIST_PORT: String(distPort),
          IFACE_ADDR: address,
          MDNS_PORT: '5353',
          SERVICE_TYPE: '_warren-test._tcp.local',
        });
      peers.push(spawnPeer(nsA, 'warren@alpha', '10.231.0.1', 25672));
      peers.push(spawnPeer(nsB, 'warren@beta', '10.231.0.2', 25680));
      const found = (child: Child) =>
        child
          .output()
          .split('\n')
          .filter((line) => line.startsWith('PEER '))
          .map((line) => JSON.parse(line.slice(5)) as DiscoveredPeer);
      await waitFor(() => found(peers[0]).length > 0 && found(peers[1]).length > 0, 10_000, 100).catch(() => {
        throw new Error(`no discovery; outputs: ${JSON.stringify(peers.map((p) => p.output()))}`);
      });
      assert.deepEqual(found(peers[0]), [{ nodeName: 'warren@beta', host: '10.231.0.2', distPort: 25680, source: 'mdns' }]);
      assert.deepEqual(found(peers[1]), [{ nodeName: 'warren@alpha', host: '10.231.0.1', distPort: 25672, source: 'mdns' }]);

      // Clean stop: goodbye sent, socket closed, process exits by itself.
      for (const peer of peers) peer.process.kill('SIGTERM');
      const codes = await Promise.all(peers.map((p) => p.exited));
      assert.deepEqual(codes, [0, 0]);
      for (const peer of peers) assert.match(peer.output(), /STOPPED/);
    } finally {
      await Promise.all(peers.map((p) => p.kill()));
      for (const ns of [nsA, nsB]) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // not created
        }
      }
    }
  });
});

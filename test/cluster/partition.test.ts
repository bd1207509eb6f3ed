// A network partition with real processes: three nodes in three network namespaces, each
// with its own address and its own port mapper on 4369, joined by a bridge (the cluster
// network); the test reaches each node's AMQP port over a separate link per namespace.
// Taking one node's bridge link down isolates it from the others but not from the test:
// the minority node refuses metadata changes with a channel error within seconds, the
// majority keeps working, and after the link comes back the minority node catches up.
// Needs root (ip netns); skipped otherwise.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ClusterProcess, clusterStatus, queueExists, waitFor, withChannel } from './cluster-support';

const id = randomBytes(2).toString('hex');
const LETTERS = ['a', 'b', 'c'];
const ns = (l: string) => `w${id}${l}`;
const clusterAddr = (i: number) => `10.231.${parseInt(id, 16) % 200}.${i + 1}`;
const clientNet = (i: number) => `10.232.${parseInt(id, 16) % 200}.${i * 4}`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `w${id}probe`;
  const r = spawnSync('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return false;
  spawnSync('ip', ['netns', 'del', probe]);
  return true;
}

function cleanupNetwork(): void {
  for (const l of LETTERS) spawnSync('ip', ['netns', 'del', ns(l)]);
  spawnSync('ip', ['link', 'del', `wb${id}`]);
  for (const l of LETTERS) {
    spawnSync('ip', ['link', 'del', `wc${id}${l}`]);
    spawnSync('ip', ['link', 'del', `wk${id}${l}`]);
  }
}

function setupNetwork(): void {
  ip('link', 'add', `wb${id}`, 'type', 'bridge');
  ip('link', 'set', `wb${id}`, 'up');
  LETTERS.forEach((l, i) => {
    const n = ns(l);
    ip('netns', 'add', n);
    ip('-n', n, 'link', 'set', 'lo', 'up');
    // Cluster link: namespace eth0 <-> bridge port.
    ip('link', 'add', `wc${id}${l}`, 'type', 'veth', 'peer', 'name', `wn${id}${l}`);
    ip('link', 'set', `wn${id}${l}`, 'netns', n);
    ip('-n', n, 'link', 'set', `wn${id}${l}`, 'name', 'eth0');
    ip('-n', n, 'addr', 'add', `${clusterAddr(i)}/24`, 'dev', 'eth0');
    ip('-n', n, 'link', 'set', 'eth0', 'up');
    ip('link', 'set', `wc${id}${l}`, 'master', `wb${id}`);
    ip('link', 'set', `wc${id}${l}`, 'up');
    // Client link: a point-to-point /30 between the root namespace and this one.
    const base = clientNet(i).split('.').map(Number);
    const hostSide = `${base[0]}.${base[1]}.${base[2]}.${base[3] + 1}`;
    const nsSide = `${base[0]}.${base[1]}.${base[2]}.${base[3] + 2}`;
    ip('link', 'add', `wk${id}${l}`, 'type', 'veth', 'peer', 'name', `wm${id}${l}`);
    ip('link', 'set', `wm${id}${l}`, 'netns', n);
    ip('-n', n, 'addr', 'add', `${nsSide}/30`, 'dev', `wm${id}${l}`);
    ip('-n', n, 'link', 'set', `wm${id}${l}`, 'up');
    ip('addr', 'add', `${hostSide}/30`, 'dev', `wk${id}${l}`);
    ip('link', 'set', `wk${id}${l}`, 'up');
  });
}

function clientAddr(i: number): string {
  const base = clientNet(i).split('.').map(Number);
  return `${base[0]}.${base[1]}.${base[2]}.${base[3] + 2}`;
}

const available = netnsAvailable();

describe('partition in network namespaces', { skip: available ? false : 'needs root and ip netns', timeout: 120_000 }, () => {
  const nodes: ClusterProcess[] = [];
  const names = LETTERS.map((_, i) => `warren@${clusterAddr(i)}`);
  const onExit = () => cleanupNetwork();

  before(() => {
    process.once('exit', onExit);
    cleanupNetwork();
    setupNetwork();
    LETTERS.forEach((l, i) => {
      nodes.push(
        new ClusterProcess(
          {
            name: names[i],
            host: clientAddr(i),
            amqpPort: 5672,
            distPort: 25672,
            epmdPort: 4369,
            netns: ns(l),
            env: { WARREN_CLUSTER_TICK_MS: '2000', WARREN_METADATA_TIMEOUT_MS: '3000', WARREN_DEFAULT_USER: 'tester', WARREN_DEFAULT_PASS: 'tester' },
            credentials: 'tester:tester',
          },
          names,
        ),
      );
    });
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
    cleanupNetwork();
    process.off('exit', onExit);
  });

  test('forms; the isolated node refuses changes with a channel error; it converges after the heal', async () => {
    for (const n of nodes) n.start();
    await Promise.all(nodes.map((n) => n.waitListening(30_000)));
    const status = (i: number) => clusterStatus(names[i], { epmdPort: 4369, netns: ns(LETTERS[i]) });
    await waitFor('three members and a leader', () => {
      const s = status(0);
      return s.status.members.length === 3 && s.status.leader !== '' && s.status.members.every((m) => m.up);
    }, 20_000);
    const epmd = spawnSync('ip', ['netns', 'exec', ns('b'), 'epmd', '-names'], { encoding: 'utf8' });
    if (!epmd.error && epmd.status === 0) assert.match(epmd.stdout, /name warren at port 25672/);

    // Isolate the current leader: the harder case (it must notice it lost its quorum).
    const leaderName = status(0).status.leader;
    const minority = names.indexOf(leaderName);
    const majority = [0, 1, 2].filter((i) => i !== minority);
    await withChannel(nodes[minority].url, (ch) => ch.assertQueue('before.partition', { durable: true }));
    ip('link', 'set', `wc${id}${LETTERS[minority]}`, 'down');
    const cutAt = Date.now();

    // The minority refuses, with a channel error and a reason, within a few seconds.
    const refusedAt = Date.now();
    await assert.rejects(
      withChannel(nodes[minority].url, (ch) => ch.assertQueue('on.minority', { durable: true })),
      (err: Error) => {
        assert.match(err.message, /PRECONDITION_FAILED - metadata store unavailable: no Raft quorum/);
        return true;
      },
    );
    const refusalMs = Date.now() - refusedAt;
    console.log(`# minority refused a declare after ${refusalMs} ms`);
    assert.ok(refusalMs < 8000, `refusal took ${refusalMs} ms`);
    // The connection survives a channel error: a passive declare (a local read) still works.
    assert.equal(await queueExists(nodes[minority].url, 'before.partition'), true);

    // The majority elects a leader and takes changes.
    await waitFor('a declare on the majority', () => withChannel(nodes[majority[0]].url, (ch) => ch.assertQueue('during.partition', { durable: true })).then(() => true), 15_000, 200);
    console.log(`# majority took a change ${Date.now() - cutAt} ms after the cut`);
    assert.equal(await waitFor('replicated on the other majority node', () => queueExists(nodes[majority[1]].url, 'during.partition'), 5000), true);
    assert.equal(await queueExists(nodes[minority].url, 'during.partition'), false);

    // Heal: the minority node catches up and takes changes again.
    ip('link', 'set', `wc${id}${LETTERS[minority]}`, 'up');
    const healedAt = Date.now();
    await waitFor('minority caught up', () => queueExists(nodes[minority].url, 'during.partition'), 20_000, 200);
    console.log(`# minority caught up ${Date.now() - healedAt} ms after the heal`);
    await waitFor('a declare on the healed node', () => withChannel(nodes[minority].url, (ch) => ch.assertQueue('after.heal', { durable: true })).then(() => true), 10_000, 200);
    for (const i of majority) assert.equal(await waitFor('after.heal replicated', () => queueExists(nodes[i].url, 'after.heal'), 5000), true);
  });
});

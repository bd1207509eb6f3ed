// Three warren-server processes on 127.0.0.1 (three AMQP ports, one private port mapper
// port) form a cluster from empty data dirs; metadata replicates; the leader is killed
// with SIGKILL and a survivor takes changes again within seconds; the killed node
// restarts, rejoins, and its transient queues are gone, as in RabbitMQ.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { freePort } from '../helpers/free-port';
import { ClusterProcess, clusterStatus, queueExists, waitFor, warrenctl, withChannel } from './cluster-support';

describe('cluster of three processes on 127.0.0.1', { timeout: 120_000 }, () => {
  let epmdPort = 0;
  let nodes: ClusterProcess[] = [];
  const byName = (name: string) => nodes.find((n) => n.spec.name === name)!;

  before(async () => {
    epmdPort = await freePort();
    const names = ['warren-a@127.0.0.1', 'warren-b@127.0.0.1', 'warren-c@127.0.0.1'];
    for (const name of names) {
      nodes.push(new ClusterProcess({ name, host: '127.0.0.1', amqpPort: await freePort(), distPort: await freePort(), epmdPort, env: { WARREN_NODE_IP: '127.0.0.1' } }, names));
    }
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
    nodes = [];
  });

  test('forms from empty data dirs; every node sees three members and one leader', async () => {
    const started = Date.now();
    for (const n of nodes) n.start();
    await Promise.all(nodes.map((n) => n.waitListening()));
    const statuses = await waitFor('three members agreeing on a leader', () => {
      const s = nodes.map((n) => clusterStatus(n.spec.name, { epmdPort }));
      const leader = s[0].status.leader;
      return s.every((x) => x.ok && x.status.members.length === 3 && x.status.leader === leader && leader !== '' && x.status.members.every((m) => m.up)) ? s : undefined;
    });
    console.log(`# formed a three-node cluster in ${Date.now() - started} ms; leader ${statuses![0].status.leader}`);
    const text = warrenctl(['-n', nodes[1].spec.name, 'cluster_status'], { epmdPort });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /warren-a@127\.0\.0\.1 {2}running, voter/);
  });

  test('epmd -names (Erlang) lists the three nodes', () => {
    const r = spawnSync('epmd', ['-names'], { env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) }, encoding: 'utf8' });
    if (r.error) return; // Erlang not installed here
    for (const alive of ['warren-a', 'warren-b', 'warren-c']) assert.match(r.stdout, new RegExp(`name ${alive} at port \\d+`), r.stdout);
  });

  test('a queue declared on A is visible by passive declare on B and C; model errors keep their reply code', async () => {
    await withChannel(nodes[0].url, (ch) => ch.assertQueue('replicated.q', { durable: true, arguments: { 'x-max-length': 10 } }));
    for (const n of nodes.slice(1)) assert.equal(await waitFor(`replicated.q on ${n.spec.name}`, () => queueExists(n.url, 'replicated.q'), 3000), true);
    // The equivalence check runs in the leader's FSM; the 406 reaches the client on C.
    await assert.rejects(
      withChannel(nodes[2].url, (ch) => ch.assertQueue('replicated.q', { durable: true, arguments: { 'x-max-length': 11 } })),
      /PRECONDITION_FAILED/,
    );
    // Declares through a follower wait until that follower applied them.
    await withChannel(nodes[1].url, async (ch) => {
      await ch.assertExchange('replicated.x', 'topic', { durable: true });
      await ch.bindQueue('replicated.q', 'replicated.x', 'k.#');
    });
    await withChannel(nodes[2].url, (ch) => ch.checkExchange('replicated.x'));
  });

  test('kill -9 of the leader: a new leader is elected and a survivor takes changes within seconds', async () => {
    const leaderName = clusterStatus(nodes[0].spec.name, { epmdPort }).status.leader;
    const leader = byName(leaderName);
    await withChannel(leader.url, (ch) => ch.assertQueue('transient.on.leader', { durable: false }));
    const survivors = nodes.filter((n) => n !== leader);
    for (const n of survivors) await waitFor('transient queue replicated', () => queueExists(n.url, 'transient.on.leader'), 3000);
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    await waitFor('a declare on a survivor', () => withChannel(survivors[0].url, (ch) => ch.assertQueue('after.failover', { durable: true })).then(() => true), 10_000, 50);
    const failoverMs = Date.now() - killedAt;
    console.log(`# declare works again ${failoverMs} ms after kill -9 of the leader`);
    assert.ok(failoverMs < 8000, `failover took ${failoverMs} ms`);
    const s = clusterStatus(survivors[1].spec.name, { epmdPort });
    assert.notEqual(s.status.leader, leaderName);
    assert.equal(s.status.members.find((m) => m.node === leaderName)?.up, false);
    assert.equal(await queueExists(survivors[1].url, 'after.failover'), true);

    // The killed node restarts with its data dir, rejoins, and its transient queue is gone everywhere.
    leader.start();
    await leader.waitListening();
    for (const n of nodes) {
      await waitFor(`transient queue gone on ${n.spec.name}`, async () => !(await queueExists(n.url, 'transient.on.leader')), 10_000);
      assert.equal(await waitFor('durable queue kept', () => queueExists(n.url, 'after.failover'), 5000), true);
    }
    await waitFor('three members up again', () => {
      const st = clusterStatus(leaderName, { epmdPort });
      return st.status.members.length === 3 && st.status.members.every((m) => m.up) && st.status.leader !== '';
    });
  });

  test('warrenctl: forget_cluster_node refuses a running node; reset refuses a running node; errors exit non-zero', () => {
    const forget = warrenctl(['-n', nodes[0].spec.name, 'forget_cluster_node', nodes[1].spec.name], { epmdPort });
    assert.equal(forget.code, 1);
    assert.match(forget.stderr, /running|leader/);
    const reset = warrenctl(['-n', nodes[2].spec.name, '--data-dir', nodes[2].dataDir, 'reset'], { epmdPort });
    assert.equal(reset.code, 1);
    assert.match(reset.stderr, /is running; stop it before reset/);
    const unknown = warrenctl(['-n', 'nobody@127.0.0.1', 'cluster_status'], { epmdPort });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not running/);
  });

  test('forget a stopped node, reset it, and it joins again under its name', async () => {
    const victim = nodes[2];
    const other = nodes[0];
    await victim.kill('SIGTERM');
    await waitFor('victim seen down', () => clusterStatus(other.spec.name, { epmdPort }).status.members.some((m) => m.node === victim.spec.name && !m.up));
    await waitFor('a leader other than the victim', () => {
      const leader = clusterStatus(other.spec.name, { epmdPort }).status.leader;
      return leader !== '' && leader !== victim.spec.name;
    });
    const forget = warrenctl(['-n', other.spec.name, 'forget_cluster_node', victim.spec.name], { epmdPort });
    assert.equal(forget.code, 0, forget.stderr + forget.stdout);
    assert.equal(clusterStatus(other.spec.name, { epmdPort }).status.members.length, 2);
    const reset = warrenctl(['-n', victim.spec.name, '--data-dir', victim.dataDir, 'reset'], { epmdPort });
    assert.equal(reset.code, 0, reset.stderr);
    victim.start();
    await victim.waitListening();
    await waitFor('three members again', () => clusterStatus(other.spec.name, { epmdPort }).status.members.length === 3);
    assert.equal(await queueExists(victim.url, 'replicated.q'), true);
  });
});

// warrenctl through the control sockets of a three-node cluster on 127.0.0.1: cluster_status without -n,
// and changes made on one node (policy, user, permissions, vhost) replicated to the others by Raft.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { freePort } from '../helpers/free-port';
import { isExternalBroker } from '../helpers/broker-process';
import { ClusterProcess, waitFor } from '../cluster/cluster-support';
import { ctlOk, ctlRows } from './ctl-support';

const skip = isExternalBroker() ? 'warrenctl talks to a Warren node only' : false;

describe('warrenctl on cluster members', { skip, timeout: 60_000 }, () => {
  let nodes: ClusterProcess[] = [];

  before(async () => {
    const epmdPort = await freePort();
    const names = ['ctl-a@127.0.0.1', 'ctl-b@127.0.0.1', 'ctl-c@127.0.0.1'];
    for (const name of names) {
      nodes.push(new ClusterProcess({ name, host: '127.0.0.1', amqpPort: await freePort(), distPort: await freePort(), epmdPort, env: { WARREN_NODE_IP: '127.0.0.1', WARREN_LOG_LEVEL: 'warn' } }, names));
    }
    for (const n of nodes) n.start();
    await Promise.all(nodes.map((n) => n.waitListening()));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
    nodes = [];
  });

  it('cluster_status and status through the socket of each member', async () => {
    for (const n of nodes) {
      const reply = await waitFor('three members with a leader', async () => {
        const r = JSON.parse(await ctlOk(n.dataDir, ['cluster_status', '--formatter', 'json'])) as { status: { node: string; leader: string; members: { up: boolean }[] } };
        return r.status.members.length === 3 && r.status.leader !== '' && r.status.members.every((m) => m.up) ? r : undefined;
      });
      assert.equal(reply!.status.node, n.spec.name);
      const status = JSON.parse(await ctlOk(n.dataDir, ['status', '--formatter', 'json'])) as { node: string; clustered: boolean };
      assert.deepEqual([status.node, status.clustered], [n.spec.name, true]);
    }
  });

  it('a policy, a user and a vhost made on one member are seen on the others', async () => {
    const [a, b, c] = nodes;
    await ctlOk(a.dataDir, ['add_vhost', 'replicated']);
    await ctlOk(b.dataDir, ['add_user', 'ruth', 'pw']);
    await ctlOk(c.dataDir, ['set_permissions', '-p', 'replicated', 'ruth', '.*', '.*', '.*']);
    await ctlOk(a.dataDir, ['set_policy', '-p', 'replicated', '--apply-to', 'queues', 'cap', '^capped$', '{"max-length":1}']);
    for (const n of nodes) {
      await waitFor(`policy on ${n.spec.name}`, async () => (await ctlRows(n.dataDir, ['list_policies', '-p', 'replicated'])).some((p) => p.name === 'cap'));
      assert.ok((await ctlRows(n.dataDir, ['list_users'])).some((u) => u.user === 'ruth'));
    }
    // ruth logs in on the third node and the policy bounds her queue there.
    const conn = await amqp.connect(`amqp://ruth:pw@127.0.0.1:${c.spec.amqpPort}/replicated`);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('capped');
      for (let i = 0; i < 3; i++) ch.sendToQueue('capped', Buffer.from(String(i)));
      await ch.waitForConfirms();
      assert.equal((await ch.checkQueue('capped')).messageCount, 1);
      assert.deepEqual(await ctlRows(c.dataDir, ['list_queues', '-p', 'replicated', 'name', 'messages', 'policy']), [{ name: 'capped', messages: '1', policy: 'cap' }]);
    } finally {
      await conn.close();
    }
  });
});

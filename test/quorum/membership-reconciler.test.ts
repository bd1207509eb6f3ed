// Continuous membership reconciliation's auto_remove (cluster/quorum/membership-reconciler.ts),
// driven with stand-ins for the queues and the mesh: with auto_remove, a queue this node
// leads loses its members on nodes that are no longer cluster members (and is not grown in
// that round); without it (RabbitMQ's default), they stay; queues led elsewhere are left to
// their leader. The member changes themselves are quorum-control's (tested on real clusters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MembershipReconciler, type ReconcilerOptions } from '../../cluster/quorum/membership-reconciler';
import type { QuorumQueue } from '../../cluster/quorum/quorum-queue';
import type { Mesh } from '../../cluster/mesh';
import type { Broker } from '../../src/broker/broker';
import type { Logger } from '../../src/log/logger';

interface FakeQueue {
  vhost: string;
  name: string;
  members: string[];
  leading: boolean;
  deleted: boolean;
  def: { arguments: Record<string, unknown> };
  policyDefinition: undefined;
}

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined } as unknown as Logger;

function queue(name: string, members: string[], leading = true): FakeQueue {
  return { vhost: '/', name, members, leading, deleted: false, def: { arguments: {} }, policyDefinition: undefined };
}

async function oneRound(queues: FakeQueue[], cluster: string[], autoRemove: boolean): Promise<string[]> {
  const calls: string[] = [];
  // The reconciler's timers do not hold the process open.
  const keepAlive = setInterval(() => undefined, 1000);
  let reconciler!: MembershipReconciler;
  const done = new Promise<void>((resolve) => {
    const o: ReconcilerOptions = {
      nodeName: 'n1',
      mesh: { isUp: (n: string) => cluster.includes(n) } as unknown as Mesh,
      broker: {} as Broker,
      log: quiet,
      queues: () => {
        // Called once per round: the round after this one has nothing left to do.
        setTimeout(resolve, 50);
        return queues as unknown as QuorumQueue[];
      },
      clusterMembers: () => cluster,
      addMember: async (_v, name, node) => void calls.push(`add ${name} ${node}`),
      deleteMember: async (_v, name, node) => {
        calls.push(`remove ${name} ${node}`);
        const q = queues.find((x) => x.name === name)!;
        q.members = q.members.filter((m) => m !== node);
      },
      autoRemove,
      targetGroupSize: 0,
      intervalMs: 10,
      triggerMs: 10,
    };
    reconciler = new MembershipReconciler(o);
  });
  await done;
  reconciler.stop();
  clearInterval(keepAlive);
  return calls;
}

test('auto_remove: members on nodes that left the cluster are removed by the leader', async () => {
  const led = queue('led', ['n1', 'n2', 'gone1', 'gone2']);
  const elsewhere = queue('elsewhere', ['n2', 'gone1'], false);
  const whole = queue('whole', ['n1', 'n2', 'n3']);
  const calls = await oneRound([led, elsewhere, whole], ['n1', 'n2', 'n3'], true);
  assert.deepEqual(calls, ['remove led gone1', 'remove led gone2']);
  assert.deepEqual(led.members, ['n1', 'n2']);
  assert.deepEqual(elsewhere.members, ['n2', 'gone1'], 'another node leads it');
  assert.deepEqual(whole.members, ['n1', 'n2', 'n3']);
});

test('without auto_remove (the default) nothing is removed', async () => {
  const led = queue('led', ['n1', 'n2', 'gone1']);
  const calls = await oneRound([led], ['n1', 'n2', 'n3'], false);
  assert.deepEqual(calls, []);
  assert.deepEqual(led.members, ['n1', 'n2', 'gone1']);
});

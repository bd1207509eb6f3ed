// Quorum queues keep bounded memory however long the backlog (issue 10, item 1): bodies past
// a member's memory budget live only on its disk (cluster/quorum/body-store.ts). 256 MiB
// published into a three-member quorum queue without consumers: once the fixed buffers are
// full (after the first quarter), no node's RSS follows the backlog; a member cut off next
// catches up by installing a snapshot (fetching every body from the others); then the leader
// is killed and everything is consumed back intact (first deliveries in order) from the two survivors.
// At-least-once dead lettering (item 2) in a second cluster.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { netnsUnavailableReason } from './netns-cluster';
import { useQuorumTestCluster } from './quorum-test-cluster';
import { channel, confirmChannel, timed } from './clustered-support';
import { waitFor } from './cluster-support';

const unavailable = netnsUnavailableReason();
const QQ = { 'x-queue-type': 'quorum' };
const BODY = 64 * 1024;
// 256 MiB: RSS moves by up to 30-40 MiB on its own on a busy machine (glibc arenas, Buffers
// awaiting collection), so the backlog measured must be well beyond that.
const COUNT = Number(process.env.QUORUM_MEMORY_MESSAGES ?? 4096); // 256 MiB
/** Published while node 2 is cut off: 8 MiB, past the 4 MiB snapshot trigger. */
const EXTRA = 128;

function body(seq: number): Buffer {
  const b = Buffer.alloc(BODY);
  const h = createHash('sha256').update(String(seq)).digest();
  for (let at = 0; at < BODY; at += h.length) h.copy(b, at);
  b.writeUInt32BE(seq, 0);
  return b;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

describe('quorum queue memory with a long backlog', { skip: unavailable ?? false, timeout: 300_000 }, () => {
  const qc = useQuorumTestCluster({
    WARREN_LOG_LEVEL: process.env.QUORUM_MEMORY_LOG_LEVEL ?? 'warn',
    // 64 KiB bodies saturate both cores: elections after 1-2 s of silence, not 250-500 ms.
    WARREN_QUORUM_TICK_MS: '200',
    // Small fixed buffers, so that what grows with the backlog would show: 2 MiB of bodies
    // per member and in the live queue, a snapshot every 4 MiB or 64 entries (the log in
    // memory between snapshots; 4 entries kept after one).
    WARREN_QUORUM_MEMORY_BYTES: String(2 * 1024 * 1024),
    WARREN_QUORUM_SNAPSHOT_BYTES: String(4 * 1024 * 1024),
    WARREN_QUEUE_MEMORY_BYTES: String(2 * 1024 * 1024),
    // The GC headroom (64 MiB by default) lets up to that much garbage, and Buffers, build
    // up between full collections: a fixed allowance that would hide in this test's 192 MiB
    // whether the bodies themselves stay in memory. What is measured here is the backlog.
    WARREN_GC_HEADROOM_MB: '0',
  });
  const url = qc.url;

  test('256 MiB without consumers: RSS stops growing with the backlog on every node; a cut-off member installs a snapshot; all consumed back intact after the leader dies', async () => {
    const ch = await channel(url(0));
    await ch.assertQueue('qq.mem', { durable: true, arguments: QQ });
    const pids = [0, 1, 2].map((i) => qc.cluster.pid(i));
    const base = pids.map(rssMiB);
    const peak = [...base];
    const sampler = setInterval(() => pids.forEach((p, i) => (peak[i] = Math.max(peak[i], rssMiB(p)))), 100);
    const pub = await confirmChannel(url(1));
    const publish = async (from: number, to: number) => {
      for (let seq = from; seq < to; seq++) {
        if (!pub.sendToQueue('qq.mem', body(seq), { persistent: true })) await new Promise((r) => pub.once('drain', r));
        if (seq % 50 === 49) await timed(pub.waitForConfirms(), 30_000, `confirms up to ${seq}`);
      }
      await timed(pub.waitForConfirms(), 30_000, 'confirms');
    };
    // A quarter first: the fixed buffers (log between snapshots, in-flight publishes, the
    // live queue's and the members' in-memory bodies, the process's own heap) fill up.
    const quarter = COUNT / 4;
    const tp = Date.now();
    await publish(0, quarter);
    const atQuarter = [...peak];
    await publish(quarter, COUNT);
    clearInterval(sampler);
    console.log(`published in ${Date.now() - tp} ms`);
    const mib = (n: number) => (n * BODY) / 1024 / 1024;
    const later = peak.map((p, i) => Math.round(p - atQuarter[i]));
    console.log(`backlog ${mib(COUNT)} MiB; RSS before ${base.map(Math.round).join('/')} MiB, after ${mib(quarter)} MiB ${atQuarter.map(Math.round).join('/')} MiB, peak ${peak.map(Math.round).join('/')} MiB: ${later.join('/')} MiB more for the last ${mib(COUNT - quarter)} MiB`);
    // Holding the bodies in memory would add the whole backlog on every member (and more).
    for (let i = 0; i < 3; i++) assert.ok(later[i] < mib(COUNT - quarter) * 0.4, `node ${i} grew ${later[i]} MiB while ${mib(COUNT - quarter)} MiB more were queued`);

    // Node 2 (a follower) misses some more: it comes back to a compacted log and installs a
    // snapshot, fetching every body from the others.
    qc.cluster.setLink(2, false);
    // Once the others see it down, nothing more is queued for it (TCP would deliver that after the heal).
    await waitFor('node 1 sees node 3 down', () => qc.cluster.status(0).status.members.find((m) => m.node === qc.cluster.nodes[2].name)?.up === false, 30_000, 250);
    await publish(COUNT, COUNT + EXTRA);
    qc.cluster.setLink(2, true);
    const tc = Date.now();
    const rows = () => {
      const r = qc.cluster.ctl(0, ['quorum_status', 'qq.mem', '--no-table-headers', '-q']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').map((l) => l.split('\t'));
    };
    await waitFor('node 2 caught up (applied what the leader applied)', () => {
      const rs = rows();
      const leader = rs.find((r) => r[1] === 'leader')!;
      const two = rs.find((r) => r[0] === qc.cluster.nodes[2].name)!;
      if (!leader || two?.[1] !== 'follower' || !(Number(two[4]) >= Number(leader[4]))) throw new Error(JSON.stringify(rs));
      return true;
    }, 90_000, 250);
    console.log(`node 2 caught up in ${Date.now() - tc} ms`);
    // It installed a snapshot made elsewhere and fetched the bodies: it keeps its own image of it.
    const qdir = join(qc.cluster.nodes[2].proc.dataDir, 'quorum');
    assert.ok(readdirSync(qdir).some((g) => existsSync(join(qdir, g, 'bodies', 'installed.idx'))), 'node 2 installed a snapshot');
    const t0 = Date.now();
    const total = COUNT + EXTRA;
    assert.equal((await ch.checkQueue('qq.mem')).messageCount, total);

    // The leader (node 0, where the queue was declared) dies: nodes 1 and 2 hold every body.
    await qc.cluster.kill9(0);
    const c = await channel(url(2));
    await c.prefetch(200);
    // Every message at least once, intact; first deliveries in publish order. A leader change
    // under load redelivers the unacked window (marked redelivered), possibly after newer ones.
    const seen = new Uint8Array(total);
    let count = 0;
    let lastFirst = -1;
    let duplicates = 0;
    let bad = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${count} of ${total}`)), 120_000);
      void c.consume('qq.mem', (m) => {
        if (!m) return;
        const seq = m.content.readUInt32BE(0);
        c.ack(m);
        if (!bad && (seq >= total || !m.content.equals(body(seq)))) bad = `seq ${seq}: ${m.content.length} bytes, not what was published`;
        if (seq >= total) return;
        if (seen[seq]) {
          duplicates++;
          if (!bad && !m.fields.redelivered) bad = `seq ${seq} delivered twice, the second time not marked redelivered`;
          return;
        }
        seen[seq] = 1;
        if (!m.fields.redelivered) {
          if (!bad && seq < lastFirst) bad = `seq ${seq} first delivered after ${lastFirst}`;
          lastFirst = seq;
        }
        if (++count === total) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    console.log(`consumed ${total} after the leader's kill in ${Date.now() - t0} ms (${duplicates} redelivered twice)`);
    assert.equal(bad, '');
    assert.equal(count, total);
  });
});

describe('quorum queue at-least-once dead lettering', { skip: unavailable ?? false, timeout: 120_000 }, () => {
  const qc = useQuorumTestCluster();
  const url = qc.url;

  /** Publishes `n` messages to `queue` on node `at` and rejects them all (requeue false) from node `from`. */
  async function rejectAll(queue: string, n: number, from: number): Promise<void> {
    const pub = await confirmChannel(url(1));
    for (let i = 0; i < n; i++) pub.sendToQueue(queue, Buffer.from(`d${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 10_000, 'confirms');
    const c = await channel(url(from));
    await c.prefetch(n);
    let seen = 0;
    await new Promise<void>((resolve) => {
      void c.consume(queue, (m) => {
        if (!m) return;
        c.nack(m, false, false);
        if (++seen === n) resolve();
      });
    });
    // The rejections reach the leader before the consumer's cancel: once it has no consumer, it had them all.
    await c.close();
    const check = await channel(url(1));
    await waitFor(`${queue} without consumers`, async () => (await check.checkQueue(queue)).consumerCount === 0, 10_000);
  }

  test('at-least-once falls back to at-most-once with drop-head (as RabbitMQ): rejected messages routed nowhere are gone', async () => {
    const ch = await channel(url(0));
    await ch.assertExchange('dlx.amo', 'direct', { durable: true });
    await ch.assertQueue('qq.amo', { durable: true, arguments: { ...QQ, 'x-dead-letter-exchange': 'dlx.amo', 'x-dead-letter-strategy': 'at-least-once' } });
    await rejectAll('qq.amo', 10, 2);
    await ch.assertQueue('qq.amo.target', { durable: true, arguments: QQ });
    await ch.bindQueue('qq.amo.target', 'dlx.amo', 'qq.amo');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await ch.checkQueue('qq.amo.target')).messageCount, 0);
    assert.equal((await ch.checkQueue('qq.amo')).messageCount, 0);
  });
  test('at-least-once (DLX, reject-publish): rejected messages stay in the source, counted against x-max-length, until a target confirms them; unroutable ones are retried, by the next leader after a kill -9', async () => {
    const ch = await channel(url(0));
    await ch.assertExchange('dlx.alo', 'direct', { durable: true });
    const args = { ...QQ, 'x-dead-letter-exchange': 'dlx.alo', 'x-max-length': 20, 'x-overflow': 'reject-publish' };
    await ch.assertQueue('qq.alo', { durable: true, arguments: { ...args, 'x-dead-letter-strategy': 'at-least-once' } });
    await rejectAll('qq.alo', 20, 2);
    // Routed nowhere yet: all 20 wait in the source, which is full. (Until the leader has the
    // consumer's rejections the 20 are unacked, which x-max-length does not count: a publish
    // may still be taken; those few stay ready and are not dead-lettered.)
    const pub = await confirmChannel(url(1));
    let taken = 0;
    await waitFor('a publish refused while the source holds the 20 dead-lettered messages', async () => {
      pub.sendToQueue('qq.alo', Buffer.from('over'), { persistent: true });
      const refused = await timed(pub.waitForConfirms(), 10_000, 'confirm').then(() => false, (err: Error) => /nack/i.test(err.message));
      if (!refused) taken++;
      return refused || Promise.reject(new Error(`taken ${taken}`));
    }, 10_000, 100);
    assert.ok(taken < 10, `${taken} publishes taken: the dead-lettered messages did not count`);
    // The leader (node 1, where it was declared) dies once the marks are committed: the next one resumes dead lettering.
    await new Promise((r) => setTimeout(r, 1000));
    await qc.cluster.kill9(0);
    // A target appears: every message reaches it (retried), with x-death, and the source has room again.
    const ch1 = await channel(url(1));
    await ch1.assertQueue('qq.alo.target', { durable: true, arguments: QQ });
    await ch1.bindQueue('qq.alo.target', 'dlx.alo', 'qq.alo');
    const got: string[] = [];
    const c = await channel(url(2));
    await c.consume('qq.alo.target', (m) => {
      if (!m) return;
      const death = (m.properties.headers?.['x-death'] as { reason: string; queue: string }[] | undefined)?.[0];
      got.push(`${m.content.toString()}:${death?.reason}:${death?.queue}`);
      c.ack(m);
    });
    await waitFor('20 dead-lettered messages in the target', () => got.length >= 20, 15_000);
    assert.deepEqual([...got].sort(), Array.from({ length: 20 }, (_, i) => `d${i}:rejected:qq.alo`).sort());
    await waitFor('the source has room again', async () => {
      const p = await confirmChannel(url(1));
      p.sendToQueue('qq.alo', Buffer.from('room'), { persistent: true });
      await timed(p.waitForConfirms(), 5000, 'confirm');
      return true;
    }, 15_000, 500);
  });

});

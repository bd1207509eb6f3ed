/**
 * Running out of file descriptors never kills the node. Started through a shell with a low
 * `ulimit -n`: the soft limit is raised to the hard one and shown by `warrenctl status`;
 * thousands of raw TCP connections that never log in are refused cleanly (over the
 * descriptor-based connection limit) or fail at accept (EMFILE, with the limit off), while an
 * amqplib client connected before keeps publishing with confirms; once the flood goes, new
 * clients connect again.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { startBroker, isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { ctlOk } from '../ctl/ctl-support';
import { raiseFdLimit } from '../../src/util/fd-limit';
import { sleep } from './durability-helpers';

const skip = isExternalBroker() ? 'starts its own broker with a low descriptor limit' : false;
const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop();
});
// The flood needs more descriptors on this side than the broker has.
raiseFdLimit();

async function status(b: BrokerProcess): Promise<{ file_descriptors: Record<string, number | string>; alarm_check_failures: number }> {
  return JSON.parse(await ctlOk(b.dataDir, ['status', '--formatter', 'json']));
}

/** Opens `count` raw sockets (never sending a byte); resolves once each connected or failed. */
async function flood(port: number, count: number): Promise<{ sockets: Socket[]; connected: number }> {
  const sockets: Socket[] = [];
  let connected = 0;
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, () => new Promise<void>((ok) => {
        const s = connect(port, '127.0.0.1');
        sockets.push(s);
        s.on('error', () => ok());
        s.on('close', () => ok());
        s.once('connect', () => {
          connected++;
          ok();
        });
      })),
    );
  }
  return { sockets, connected };
}

/** A client connected before the flood: publishes `n` persistent messages with confirms and reads them back. */
async function roundTrip(conn: amqp.ChannelModel, n: number): Promise<void> {
  const ch = await conn.createConfirmChannel();
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
  assert.equal((await ch.checkQueue(q)).messageCount, n);
  await ch.close();
}

describe('file descriptor exhaustion', { skip }, () => {
  it('raises the soft limit, refuses connections over the descriptor-based limit, stays up', { timeout: 120_000 }, async () => {
    const b = await startBroker({ nofile: { soft: 256, hard: 768 } });
    brokers.push(b);
    const fds = (await status(b)).file_descriptors;
    assert.equal(fds.limit, 768, 'soft limit raised to the hard limit');
    assert.equal(fds.connection_limit, 768 - 76);
    const before = await amqp.connect(b.url);
    before.on('error', () => {});
    const { sockets, connected } = await flood(b.port, 1500);
    await sleep(1500);
    assert.equal(b.child.exitCode, null, `broker died:\n${b.output()}`);
    await roundTrip(before, 50);
    for (const s of sockets) s.destroy();
    await sleep(500);
    const after = await status(b);
    assert.ok(Number(after.file_descriptors.dropped_connections) > 0, JSON.stringify(after));
    const fresh = await amqp.connect(b.url);
    await roundTrip(fresh, 10);
    await fresh.close();
    await before.close();
    console.log(`# flood of 1500 raw sockets at limit 768: ${connected} connected at TCP level, ${after.file_descriptors.dropped_connections} dropped by the limit`);
  });

  it('survives EMFILE on accept and in the periodic checks with the connection limit off', { timeout: 120_000 }, async () => {
    const b = await startBroker({ nofile: { soft: 300, hard: 300 }, env: { WARREN_SOCKET_LIMIT: 'infinity' } });
    brokers.push(b);
    assert.equal((await status(b)).file_descriptors.connection_limit, 'unlimited');
    const before = await amqp.connect(b.url);
    before.on('error', () => {});
    const { sockets } = await flood(b.port, 1200);
    // Several alarm checks (every 500 ms) run while no descriptor is free.
    await sleep(3000);
    assert.equal(b.child.exitCode, null, `broker died:\n${b.output()}`);
    for (const s of sockets) s.destroy();
    await sleep(1000);
    const after = await status(b);
    // Descriptors did run out: libuv refused the accepts (and may report them) and the alarm checks failed to read /proc.
    assert.ok(Number(after.file_descriptors.accept_errors) + after.alarm_check_failures > 0, `descriptors never ran out: ${JSON.stringify(after)}`);
    await roundTrip(before, 50);
    const fresh = await amqp.connect(b.url);
    await roundTrip(fresh, 10);
    await fresh.close();
    await before.close();
    console.log(`# EMFILE flood at limit 300: ${after.file_descriptors.accept_errors} failed accepts, ${after.alarm_check_failures} failed alarm checks, node up`);
  });
});

/**
 * A data directory on a small tmpfs that fills up: the message store hits ENOSPC, the disk
 * alarm goes on at once (the periodic free-space check is set to 1 byte so it cannot be
 * what fires), the publisher is blocked, no confirm is lost or sent early; when space is
 * freed the store writes the held batch by itself, the alarm clears, the outstanding
 * publishes are confirmed and new ones go through, without a restart. A node whose disk is
 * full then restarts (alarm on) and every confirmed message is still there.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as amqp from 'amqplib';
import { startBroker, isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { ctlOk } from '../ctl/ctl-support';
import { sleep } from './durability-helpers';

// Mounting the tmpfs needs root (CI runs as root); without it the test fails at the mount, loudly.
const skip = isExternalBroker() ? 'starts its own broker on a tmpfs' : false;
const mountPoint = mkdtempSync(join(tmpdir(), 'warren-sec-diskfull-'));
let mounted = false;
const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.stop({ keepData: true }).catch(() => {});
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Writes zeros to `path` until the file system is full; returns the bytes written. */
function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let total = 0;
  try {
    for (;;) total += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return total;
}

async function alarms(b: BrokerProcess): Promise<string[]> {
  return (JSON.parse(await ctlOk(b.dataDir, ['status', '--formatter', 'json'])) as { alarms: string[] }).alarms;
}

describe('disk full', { skip }, () => {
  it('ENOSPC fires the disk alarm at once; freeing space resumes publishing; a full node restarts', { timeout: 120_000 }, async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mountPoint]);
    mounted = true;
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
    const env = { WARREN_DISK_FREE_LIMIT: '1' };
    let b = await startBroker({ dataDir, env });
    brokers.push(b);

    const conn = await amqp.connect(b.url);
    conn.on('error', () => {});
    let blocked = false;
    conn.on('blocked', () => (blocked = true));
    conn.on('unblocked', () => (blocked = false));
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertQueue('full', { durable: true });
    const confirmed = new Set<number>();
    const nacked: number[] = [];
    const body = (i: number) => Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(64 * 1024 - 8, 0x61)]);
    let sent = 0;
    const publish = () => {
      const id = sent++;
      ch.sendToQueue('full', body(id), { persistent: true }, (err) => (err ? nacked.push(id) : confirmed.add(id)));
    };
    // Publish with at most 64 unconfirmed until the broker blocks us (40 MiB tmpfs, 8 MiB filler: about 500 messages fit).
    const deadline = Date.now() + 30_000;
    while (!blocked && Date.now() < deadline) {
      if (sent - confirmed.size - nacked.length < 64) publish();
      else await sleep(5);
    }
    assert.ok(blocked, `never blocked after ${sent} publishes`);
    assert.ok((await alarms(b)).includes('disk'), 'disk alarm on');
    await sleep(1000);
    const confirmedWhileFull = confirmed.size;
    assert.ok(confirmedWhileFull < sent, 'some publishes wait for space');
    assert.deepEqual(nacked, []);

    // Space returns: the held batch is written, confirms arrive, the alarm clears, publishing resumes.
    unlinkSync(filler);
    const until = Date.now() + 20_000;
    while ((blocked || confirmed.size < sent) && Date.now() < until) await sleep(50);
    assert.equal(blocked, false, `still blocked after space was freed: sent ${sent}, confirmed ${confirmed.size} (${confirmedWhileFull} while full)\n${b.output().slice(-3000)}`);
    assert.equal(confirmed.size, sent, `confirmed ${confirmed.size} of ${sent} after space was freed`);
    assert.deepEqual(await alarms(b), []);
    for (let i = 0; i < 20; i++) publish();
    await ch.waitForConfirms();
    assert.equal(confirmed.size, sent);
    assert.deepEqual(nacked, []);
    await conn.close();

    // Fill the disk completely and restart: the node starts, with the disk alarm on.
    fillUp(join(mountPoint, 'filler2'));
    await b.stop({ keepData: true });
    b = await startBroker({ dataDir, env });
    brokers.push(b);
    assert.ok((await alarms(b)).includes('disk'), 'disk alarm on after a restart on a full disk');
    unlinkSync(join(mountPoint, 'filler2'));
    const reader = await amqp.connect(b.url);
    const rch = await reader.createChannel();
    const seen = new Set<number>();
    for (let m = await rch.get('full', { noAck: true }); m; m = await rch.get('full', { noAck: true })) seen.add(Number(m.content.toString('latin1', 0, 12).split(':')[0]));
    const lost = [...confirmed].filter((id) => !seen.has(id));
    assert.deepEqual(lost, [], 'confirmed messages lost');
    await reader.close();
    console.log(`# tmpfs 40 MiB: blocked after ${confirmedWhileFull} confirmed of ${sent - 20} sent; after freeing 8 MiB all ${sent} confirmed, ${seen.size} recovered after a restart on a full disk, 0 lost`);
  });
});

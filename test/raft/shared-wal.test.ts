// The shared write-ahead log of quorum queue groups: each group's LogStore / StableStore
// contract, group commit (one fsync for many groups), recovery after close and after a torn
// write, corruption detection, and deletion of segments nobody needs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SharedWal } from '../../cluster/raft/shared-wal';
import { LogCorruptionError } from '../../cluster/raft/disk-log-store';
import { EntryType, type LogEntry } from '../../cluster/raft/types';

function entries(from: number, to: number, term = 1, bytes = 8): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: EntryType.Command, data: Buffer.from(`cmd-${i}`.padEnd(bytes, '.')) });
  return out;
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'warren-wal-'));
}

/** The file holds nothing but zeros (allocated space) after `at`. */
const cutAt = (file: string, at: number) => readFileSync(file).subarray(at).every((b) => b === 0);

const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();

test('a group log over the shared WAL keeps the LogStore contract', async () => {
  const dir = tempDir();
  const wal = await SharedWal.open(dir);
  try {
    const { log: store, stable } = wal.group('g1');
    assert.equal(await store.lastIndex(), 0);
    await store.storeEntries(entries(1, 20));
    assert.equal(await store.firstIndex(), 1);
    assert.equal(await store.lastIndex(), 20);
    assert.deepEqual((await store.getRange(5, 7)).map((e) => e.data.toString()), ['cmd-5...', 'cmd-6...', 'cmd-7...']);
    await assert.rejects(store.storeEntries(entries(22, 22)));
    await store.truncateSuffix(15);
    assert.equal(await store.lastIndex(), 14);
    await store.storeEntries(entries(15, 16, 2));
    assert.equal((await store.getRange(16, 16))[0].term, 2);
    await store.deletePrefix(10);
    assert.equal(await store.firstIndex(), 11);
    assert.deepEqual((await store.getRange(0, 100)).map((e) => e.index), [11, 12, 13, 14, 15, 16]);
    await store.deletePrefix(16);
    assert.equal(await store.lastIndex(), 0, 'a prefix covering everything empties the store');
    await store.storeEntries(entries(40, 41, 3));
    assert.deepEqual((await store.getRange(0, 100)).map((e) => e.index), [40, 41]);
    await stable.save({ term: 3, vote: 'warren@b', commit: 41 });
    assert.deepEqual(await stable.load(), { term: 3, vote: 'warren@b', commit: 41 });
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('group commit: appends of 200 groups in one turn cost one or two fsyncs, not 200', async () => {
  const dir = tempDir();
  const wal = await SharedWal.open(dir);
  try {
    const before = wal.syncCount;
    await Promise.all(Array.from({ length: 200 }, (_, i) => wal.group(`g${i}`).log.storeEntries(entries(1, 3))));
    assert.ok(wal.syncCount - before <= 2, `fsyncs: ${wal.syncCount - before}`);
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reopening replays every group: entries, truncations, prefixes, hard states; a dropped group is gone', async () => {
  const dir = tempDir();
  let wal = await SharedWal.open(dir, { segmentMaxBytes: 2048 });
  const a = wal.group('a');
  const b = wal.group('b');
  await a.log.storeEntries(entries(1, 50));
  await b.log.storeEntries(entries(1, 10));
  await a.log.truncateSuffix(41);
  await a.log.storeEntries(entries(41, 45, 2));
  await a.log.deletePrefix(20);
  await a.stable.save({ term: 2, vote: 'x', commit: 45 });
  await b.stable.save({ term: 1, vote: '', commit: 10 });
  await wal.group('c').log.storeEntries(entries(1, 5));
  await wal.drop('c');
  await wal.close();
  wal = await SharedWal.open(dir, { segmentMaxBytes: 2048 });
  try {
    const a2 = wal.group('a');
    assert.equal(await a2.log.firstIndex(), 21);
    assert.equal(await a2.log.lastIndex(), 45);
    assert.equal((await a2.log.getRange(45, 45))[0].term, 2);
    assert.deepEqual(await a2.stable.load(), { term: 2, vote: 'x', commit: 45 });
    const b2 = wal.group('b');
    assert.deepEqual((await b2.log.getRange(1, 100)).map((e) => e.index), Array.from({ length: 10 }, (_, i) => i + 1));
    assert.deepEqual(await b2.stable.load(), { term: 1, vote: '', commit: 10 });
    assert.equal(await wal.group('c').log.lastIndex(), 0);
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn last record is cut off at open; a bad CRC in a complete record is corruption', async () => {
  const dir = tempDir();
  let wal = await SharedWal.open(dir);
  await wal.group('a').log.storeEntries(entries(1, 3));
  await wal.close();
  const file = path.join(dir, segments(dir)[0]);
  const good = statSync(file).size;
  appendFileSync(file, Buffer.from([0, 0, 1, 0, 1, 2, 3]));
  wal = await SharedWal.open(dir);
  assert.equal(wal.tornTailBytes, 7);
  assert.ok(cutAt(file, good), 'the torn bytes are gone (only allocated zeros follow the records)');
  assert.equal(await wal.group('a').log.lastIndex(), 3);
  await wal.close();
  const bytes = readFileSync(file);
  bytes[bytes.length - 2] ^= 0xff;
  writeFileSync(file, bytes);
  await assert.rejects(SharedWal.open(dir), LogCorruptionError);
  rmSync(dir, { recursive: true, force: true });
});

test('a crash leaves allocated space after the last record: skipped at open; a torn record before it is cut off', async () => {
  const dir = tempDir();
  const crashed = tempDir();
  const wal = await SharedWal.open(dir);
  try {
    await wal.group('a').log.storeEntries(entries(1, 5));
    await wal.group('a').stable.save({ term: 1, vote: '', commit: 5 });
    // A copy taken while the WAL is open is what a crash (kill -9) leaves behind.
    cpSync(dir, crashed, { recursive: true });
  } finally {
    await wal.close();
  }
  const file = path.join(crashed, segments(crashed)[0]);
  const written = statSync(path.join(dir, segments(dir)[0])).size;
  assert.ok(statSync(file).size > written, 'space is allocated ahead of the records');
  let again = await SharedWal.open(crashed);
  assert.equal(again.tornTailBytes, 0, 'zeros after the last record are not a torn write');
  assert.equal(await again.group('a').log.lastIndex(), 5);
  assert.deepEqual(await again.group('a').stable.load(), { term: 1, vote: '', commit: 5 });
  await again.group('a').log.storeEntries(entries(6, 8));
  await again.close();
  again = await SharedWal.open(crashed);
  assert.deepEqual((await again.group('a').log.getRange(1, 100)).map((e) => e.index), [1, 2, 3, 4, 5, 6, 7, 8]);
  await again.close();
  // Half a record, then allocated zeros: the half is torn and cut off.
  const bytes = readFileSync(file);
  const tail = Buffer.alloc(64 * 1024);
  tail.writeUInt32BE(100, 0);
  tail.writeUInt32BE(12345, 4);
  tail.fill(7, 8, 40);
  writeFileSync(file, Buffer.concat([bytes, tail]));
  again = await SharedWal.open(crashed);
  try {
    assert.equal(again.tornTailBytes, tail.length);
    assert.ok(cutAt(file, bytes.length), 'the torn record is gone');
    assert.equal(await again.group('a').log.lastIndex(), 8);
  } finally {
    await again.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(crashed, { recursive: true, force: true });
  }
});

test('segments are deleted once every group snapshotted (deleted the prefix of) what they hold', async () => {
  const dir = tempDir();
  const wal = await SharedWal.open(dir, { segmentMaxBytes: 4096 });
  try {
    const a = wal.group('a');
    for (let i = 0; i < 20; i++) await a.log.storeEntries(entries(i * 10 + 1, i * 10 + 10, 1, 64));
    assert.ok(segments(dir).length >= 4, `segments: ${segments(dir).length}`);
    await a.log.deletePrefix(190);
    // The next roll-over collects.
    for (let i = 20; i < 30; i++) await a.log.storeEntries(entries(i * 10 + 1, i * 10 + 10, 1, 64));
    assert.ok(segments(dir).length <= 3, `segments left: ${segments(dir).join(', ')}`);
    assert.equal(await a.log.firstIndex(), 191);
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Offsets of the records of `kind` in a segment's bytes (up to the allocated zeros). */
function recordsOf(bytes: Buffer, kind: number): number[] {
  const out: number[] = [];
  for (let pos = 0; pos + 8 <= bytes.length; ) {
    const len = bytes.readUInt32BE(pos);
    if (len === 0) break;
    if (bytes[pos + 8] === kind) out.push(pos);
    pos += 8 + len;
  }
  return out;
}

test('writes are pipelined (the next starts while one syncs) and still resolve in order', async () => {
  const dir = tempDir();
  const wal = await SharedWal.open(dir);
  try {
    const log = wal.group('a').log;
    const order: number[] = [];
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 40; i++) {
      writes.push(log.storeEntries(entries(i, i)).then(() => void order.push(i)));
      // A new event-loop turn: a new write, issued while the previous ones are under way.
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    assert.deepEqual(order, Array.from({ length: 40 }, (_, i) => i + 1));
    assert.ok(wal.syncCount >= 2, `${wal.syncCount} writes`);
  } finally {
    await wal.close();
  }
  const again = await SharedWal.open(dir);
  assert.deepEqual((await again.group('a').log.getRange(1, 100)).map((e) => e.index), Array.from({ length: 40 }, (_, i) => i + 1));
  await again.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a crash tearing the last two writes is cut off; damage followed by two more writes is corruption', async () => {
  const dir = tempDir();
  const crashed = tempDir();
  const wal = await SharedWal.open(dir);
  try {
    const log = wal.group('a').log;
    await log.storeEntries(entries(1, 3, 1, 64));
    await log.storeEntries(entries(4, 5, 1, 64));
    await log.storeEntries(entries(6, 7, 1, 64));
    cpSync(dir, crashed, { recursive: true });
  } finally {
    await wal.close();
  }
  const file = path.join(crashed, segments(crashed)[0]);
  const image = readFileSync(file);
  const [a, b] = recordsOf(image, 1);
  assert.equal(recordsOf(image, 6).length, 3, 'one marker per write');
  // The second write torn (a byte of it never reached the disk), the third complete after it.
  const torn = Buffer.from(image);
  torn[b + 40] ^= 0xff;
  writeFileSync(file, torn);
  let again = await SharedWal.open(crashed);
  try {
    assert.equal(await again.group('a').log.lastIndex(), 3);
    assert.ok(again.tornTailBytes > 0);
    assert.ok(cutAt(file, b), 'the torn writes are gone');
  } finally {
    await again.close();
  }
  // Damage in the first write, followed by two complete ones: not a crash.
  const damaged = Buffer.from(image);
  damaged[a + 40] ^= 0xff;
  writeFileSync(file, damaged);
  await assert.rejects(SharedWal.open(crashed), LogCorruptionError);
  rmSync(dir, { recursive: true, force: true });
  rmSync(crashed, { recursive: true, force: true });
});

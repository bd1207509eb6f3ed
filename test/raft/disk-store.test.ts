import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, statSync, openSync, writeSync, closeSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DiskLogStore, LogCorruptionError } from '../../cluster/raft/disk-log-store';
import { DiskStableStore } from '../../cluster/raft/disk-stable-store';
import { DiskSnapshotStore } from '../../cluster/raft/disk-snapshot-store';
import { MemoryLogStore } from '../../cluster/raft/memory-log-store';
import type { LogStore } from '../../cluster/raft/log-store';
import { EntryType, type LogEntry } from '../../cluster/raft/types';
import { crc32, crc32Table } from '../../cluster/raft/crc32';

function entries(from: number, to: number, term = 1): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: EntryType.Command, data: Buffer.from(`cmd-${i}`) });
  return out;
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'warren-raft-'));
}

function onlySegment(dir: string): string {
  const segs = readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  return path.join(dir, segs[segs.length - 1]);
}

// One contract suite for every LogStore implementation.
const stores: [string, () => Promise<{ store: LogStore; cleanup(): void }>][] = [
  ['memory', async () => ({ store: new MemoryLogStore(), cleanup: () => undefined })],
  ['disk', async () => {
    const dir = tempDir();
    return { store: await DiskLogStore.open(dir, { segmentMaxBytes: 200 }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }],
];

for (const [name, make] of stores) {
  test(`${name} log store: append, range, suffix and prefix deletion`, async () => {
    const { store, cleanup } = await make();
    try {
      assert.equal(await store.lastIndex(), 0);
      await store.storeEntries(entries(1, 20));
      assert.equal(await store.firstIndex(), 1);
      assert.equal(await store.lastIndex(), 20);
      assert.deepEqual((await store.getRange(5, 7)).map((e) => e.data.toString()), ['cmd-5', 'cmd-6', 'cmd-7']);
      await assert.rejects(store.storeEntries(entries(22, 22)));
      await store.truncateSuffix(15);
      assert.equal(await store.lastIndex(), 14);
      await store.storeEntries(entries(15, 16, 2));
      assert.equal((await store.getRange(16, 16))[0].term, 2);
      await store.deletePrefix(10);
      assert.ok((await store.firstIndex()) <= 11 && (await store.firstIndex()) > 0);
      assert.deepEqual((await store.getRange(11, 16)).map((e) => e.index), [11, 12, 13, 14, 15, 16]);
      await store.deletePrefix(16);
      assert.equal(await store.lastIndex(), 0, 'a prefix covering everything empties the store');
      await store.storeEntries(entries(40, 41, 3));
      assert.deepEqual((await store.getRange(0, 100)).map((e) => e.index), [40, 41]);
    } finally {
      cleanup();
    }
  });
}

test('disk log store: survives reopen, with several segments', async () => {
  const dir = tempDir();
  try {
    const a = await DiskLogStore.open(dir, { segmentMaxBytes: 100 });
    for (let i = 1; i <= 30; i += 3) await a.storeEntries(entries(i, i + 2));
    await a.truncateSuffix(29);
    assert.ok(readdirSync(dir).filter((f) => f.endsWith('.log')).length > 2, 'several segments');
    const b = await DiskLogStore.open(dir);
    assert.equal(await b.lastIndex(), 28);
    assert.deepEqual((await b.getRange(1, 28)).map((e) => e.data.toString()), entries(1, 28).map((e) => e.data.toString()));
    assert.equal(b.recovery.tornTailBytes, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk log store: a torn tail is truncated on open', async () => {
  const dir = tempDir();
  try {
    const a = await DiskLogStore.open(dir);
    await a.storeEntries(entries(1, 5));
    const file = onlySegment(dir);
    const goodSize = statSync(file).size;
    // A crash mid-append: a header promising 100 bytes, followed by only 7.
    const fd = openSync(file, 'a');
    const torn = Buffer.alloc(15);
    torn.writeUInt32BE(100, 0);
    writeSync(fd, torn);
    closeSync(fd);
    const b = await DiskLogStore.open(dir);
    assert.equal(await b.lastIndex(), 5);
    assert.equal(b.recovery.tornTailBytes, 15);
    assert.equal(statSync(file).size, goodSize, 'the torn bytes are gone from the file');
    await b.storeEntries(entries(6, 6));
    const c = await DiskLogStore.open(dir);
    assert.deepEqual((await c.getRange(1, 10)).map((e) => e.index), [1, 2, 3, 4, 5, 6]);
    // A cut in the middle of the last record is torn as well.
    truncateSync(file, statSync(file).size - 3);
    const d = await DiskLogStore.open(dir);
    assert.equal(await d.lastIndex(), 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk log store: a CRC-bad record is detected and recovery stops there', async () => {
  const dir = tempDir();
  try {
    const a = await DiskLogStore.open(dir);
    await a.storeEntries(entries(1, 10));
    const file = onlySegment(dir);
    const buf = readFileSync(file);
    const at = buf.indexOf(Buffer.from('cmd-6'));
    buf[at] ^= 0xff; // flip a payload byte of entry 6
    writeFileSync(file, buf);
    await assert.rejects(DiskLogStore.open(dir), (err: unknown) => {
      assert.ok(err instanceof LogCorruptionError);
      assert.equal(err.lastGoodIndex, 5);
      return true;
    });
    const b = await DiskLogStore.open(dir, { onCorruption: 'truncate' });
    assert.equal(await b.lastIndex(), 5);
    assert.equal(b.recovery.corruption?.lastGoodIndex, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk log store: every append and truncation is fsynced', async () => {
  const dir = tempDir();
  try {
    const a = await DiskLogStore.open(dir);
    const before = a.fsyncCount;
    await a.storeEntries(entries(1, 3));
    assert.equal(a.fsyncCount, before + 1);
    await a.storeEntries(entries(4, 4));
    await a.truncateSuffix(3);
    assert.equal(a.fsyncCount, before + 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk stable store: atomic replace, reopen, CRC check', async () => {
  const dir = tempDir();
  try {
    const s = new DiskStableStore(dir);
    assert.deepEqual(await s.load(), { term: 0, vote: '', commit: 0 });
    await s.save({ term: 3, vote: 'n2', commit: 7 });
    await s.save({ term: 4, vote: '', commit: 9 });
    assert.deepEqual(await new DiskStableStore(dir).load(), { term: 4, vote: '', commit: 9 });
    assert.deepEqual(readdirSync(dir), ['raft-state.json'], 'no temp file left behind');
    const file = path.join(dir, 'raft-state.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"term":4', '"term":5'));
    await assert.rejects(new DiskStableStore(dir).load(), /bad CRC/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk snapshot store: keeps the newest N, skips a damaged one', async () => {
  const dir = tempDir();
  try {
    const s = new DiskSnapshotStore(dir, 2);
    const config = { servers: [{ id: 'a', address: 'x', suffrage: 'voter' as const }] };
    for (const index of [10, 20, 30]) {
      await s.save({ meta: { index, term: 2, configuration: config, configurationIndex: 1 }, data: Buffer.from(`state@${index}`) });
    }
    assert.deepEqual((await s.list()).map((m) => m.index), [30, 20]);
    const latest = await new DiskSnapshotStore(dir).latest();
    assert.equal(latest?.data.toString(), 'state@30');
    assert.deepEqual(latest?.meta.configuration, config);
    const newest = readdirSync(dir).filter((f) => f.endsWith('.snap')).sort().pop()!;
    writeFileSync(path.join(dir, newest), 'garbage!');
    assert.equal((await s.latest())?.data.toString(), 'state@20');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crc32: zlib and the table agree on the standard check value', () => {
  const check = Buffer.from('123456789');
  assert.equal(crc32Table(check), 0xcbf43926);
  assert.equal(crc32(check), 0xcbf43926);
});

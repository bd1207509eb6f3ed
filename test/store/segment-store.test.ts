import assert from 'node:assert/strict';
import fs from 'node:fs';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MessageId } from '../../src/store/message-store';
import { listSegments, segmentPath } from '../../src/store/segment-files';
import { type SegmentStoreOptions, openSegmentStore } from '../../src/store/segment-store';
import { CorruptRecordError, StoreFailedError } from '../../src/store/store-errors';
import { messageFor, prng, sameMessage, tempDir } from './store-helpers';

const temps: { remove(): void }[] = [];
after(() => temps.forEach((t) => t.remove()));

function freshDir(label: string): string {
  const t = tempDir(label);
  temps.push(t);
  return t.dir;
}

async function open(dir: string, extra: Partial<SegmentStoreOptions> = {}) {
  return openSegmentStore({ dir, ...extra });
}

function putKey(store: Awaited<ReturnType<typeof open>>, queues: string[], key: number, bodyBytes = 64): MessageId {
  const m = messageFor(key, bodyBytes);
  return store.storeMessage(queues, m.routing, m.properties, m.body);
}

/** Bytes of every segment file, concatenated in order, to find a record by its body. */
function locate(dir: string, needle: Buffer): { path: string; offset: number } {
  for (const no of listSegments(dir)) {
    const path = segmentPath(dir, no);
    const offset = readFileSync(path).indexOf(needle);
    if (offset !== -1) return { path, offset };
  }
  throw new Error('needle not found');
}

function flipByte(path: string, offset: number): void {
  const data = readFileSync(path);
  data[offset] ^= 0xff;
  writeFileSync(path, data);
}

describe('segment store: reopen', () => {
  it('recovers queues, order and bytes after a clean close, and continues ids upward', async () => {
    const dir = freshDir('reopen');
    const s1 = await open(dir);
    const ids: MessageId[] = [];
    for (let i = 0; i < 20; i++) ids.push(putKey(s1, i % 3 === 0 ? ['a', 'b'] : ['a'], i, 100 + i));
    s1.ackMany('a', [ids[0], ids[1]]);
    s1.ack('b', ids[3]);
    await s1.close();

    const s2 = await open(dir);
    const rec = s2.recovery;
    assert.deepEqual(rec.queues.get('a'), ids.slice(2));
    assert.deepEqual(rec.queues.get('b'), [ids[0], ids[6], ids[9], ids[12], ids[15], ids[18]]);
    assert.equal(rec.messageCount, 19);
    assert.equal(rec.corruptRegions, 0);
    assert.equal(rec.truncatedBytes, 0);
    for (let i = 0; i < 20; i++) {
      if (i === 1) assert.equal(s2.read(ids[i]), undefined);
      else assert.ok(sameMessage(s2.read(ids[i]), messageFor(i, 100 + i)), `message ${i}`);
    }
    const next = putKey(s2, ['a'], 99);
    assert.ok(next > ids[19]);
    await s2.close();
  });

  it('recovers exactly the model state across many reopen cycles with small segments', async () => {
    const dir = freshDir('cycles');
    const random = prng(2024);
    const queueNames = ['q0', 'q1', 'q2', 'q3'];
    const model = new Map<string, MessageId[]>();
    const keyOf = new Map<MessageId, number>();
    let key = 0;
    let deleted = 0;
    for (let cycle = 0; cycle < 12; cycle++) {
      const store = await open(dir, { segmentMaxBytes: 4096, cacheMaxBytes: 1024 });
      for (const q of queueNames) assert.deepEqual(store.recovery.queues.get(q) ?? [], model.get(q) ?? [], `cycle ${cycle} ${q}`);
      for (const [id, k] of keyOf) {
        const m = store.read(id);
        if (m !== undefined) assert.ok(sameMessage(m, messageFor(k, m.body.length)));
      }
      for (let step = 0; step < 400; step++) {
        const r = random();
        if (r < 0.45) {
          const queues = queueNames.filter(() => random() < 0.35);
          if (queues.length === 0) queues.push(queueNames[Math.floor(random() * queueNames.length)]);
          const id = putKey(store, queues, ++key, Math.floor(random() * 200));
          keyOf.set(id, key);
          for (const q of queues) model.set(q, [...(model.get(q) ?? []), id]);
        } else if (r < 0.97) {
          const q = queueNames[Math.floor(random() * queueNames.length)];
          const held = model.get(q) ?? [];
          // Mostly ack old messages, sometimes keep the oldest one around for long.
          const pick = held.filter((_, i) => i > 0 && random() < 0.5);
          if (pick.length > 0) store.ackMany(q, pick);
          model.set(q, held.filter((id) => !pick.includes(id)));
        } else {
          const q = queueNames[Math.floor(random() * queueNames.length)];
          store.deleteQueue(q);
          model.delete(q);
        }
        if (random() < 0.05) await store.flush();
      }
      deleted += store.stats().segmentsDeleted;
      await store.close();
    }
    assert.ok(deleted > 10, `segments were reclaimed (${deleted})`);
    const last = await open(dir, { segmentMaxBytes: 4096 });
    for (const q of queueNames) assert.deepEqual(last.recovery.queues.get(q) ?? [], model.get(q) ?? []);
    await last.close();
  });
});

describe('segment store: damage', () => {
  it('truncates a torn tail record, keeps earlier records, and keeps working', async () => {
    const dir = freshDir('torn');
    const s1 = await open(dir);
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push(putKey(s1, ['q'], i, 300));
    await s1.close();
    const newest = segmentPath(dir, listSegments(dir).at(-1)!);
    const size = statSync(newest).size;
    truncateSync(newest, size - 100);

    const s2 = await open(dir);
    assert.deepEqual(s2.recovery.queues.get('q'), ids.slice(0, 9));
    assert.ok(s2.recovery.truncatedBytes > 0);
    assert.equal(s2.recovery.corruptRegions, 0);
    assert.equal(statSync(newest).size, size - s2.recovery.truncatedBytes - 100);
    const more = putKey(s2, ['q'], 50);
    await s2.close();

    const s3 = await open(dir);
    assert.deepEqual(s3.recovery.queues.get('q'), [...ids.slice(0, 9), more]);
    assert.equal(s3.recovery.truncatedBytes, 0);
    await s3.close();
  });

  it('treats garbage after the last record (a write that never completed) as a torn tail', async () => {
    const dir = freshDir('garbage');
    const s1 = await open(dir);
    const id = putKey(s1, ['q'], 1);
    await s1.close();
    const newest = segmentPath(dir, listSegments(dir).at(-1)!);
    writeFileSync(newest, Buffer.concat([readFileSync(newest), Buffer.alloc(37, 0)]));
    const s2 = await open(dir);
    assert.deepEqual(s2.recovery.queues.get('q'), [id]);
    assert.equal(s2.recovery.truncatedBytes, 37);
    await s2.close();
  });

  it('reports and skips a record with a bad CRC in the middle, keeping the others', async () => {
    const dir = freshDir('crc');
    const s1 = await open(dir);
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push(putKey(s1, ['q'], 1000 + i, 200));
    await s1.close();
    const hit = locate(dir, messageFor(1005, 200).body);
    flipByte(hit.path, hit.offset + 50);

    const s2 = await open(dir);
    assert.equal(s2.recovery.corruptRegions, 1);
    assert.equal(s2.recovery.truncatedBytes, 0);
    assert.deepEqual(s2.recovery.queues.get('q'), ids.filter((_, i) => i !== 5));
    assert.equal(s2.read(ids[5]), undefined);
    for (let i = 0; i < 10; i++) if (i !== 5) assert.ok(sameMessage(s2.read(ids[i]), messageFor(1000 + i, 200)));
    await s2.close();
  });

  it('resynchronises after a damaged length field', async () => {
    const dir = freshDir('length');
    const s1 = await open(dir);
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(putKey(s1, ['q'], 2000 + i, 100));
    await s1.close();
    // The record header sits before the body: magic, crc, length, type, id, ...
    const hit = locate(dir, messageFor(2002, 100).routing);
    const recordStart = readFileSync(hit.path).lastIndexOf(Buffer.from('WRN1'), hit.offset);
    flipByte(hit.path, recordStart + 9);
    const s2 = await open(dir);
    assert.equal(s2.recovery.corruptRegions, 1);
    assert.deepEqual(s2.recovery.queues.get('q'), ids.filter((_, i) => i !== 2));
    await s2.close();
  });

  it('never returns bytes that fail their CRC when paging from disk', async () => {
    const dir = freshDir('read');
    const store = await open(dir, { cacheMaxBytes: 0 });
    const id = putKey(store, ['q'], 3000, 500);
    const other = putKey(store, ['q'], 3001, 500);
    await store.flush();
    assert.ok(sameMessage(store.read(id), messageFor(3000, 500)));
    const hit = locate(dir, messageFor(3000, 500).body);
    flipByte(hit.path, hit.offset + 10);
    assert.throws(() => store.read(id), CorruptRecordError);
    assert.ok(sameMessage(store.read(other), messageFor(3001, 500)));
    const stats = store.stats();
    assert.equal(stats.corruptReads, 1);
    assert.ok(stats.cacheMisses >= 3);
    await store.close();
  });
});

describe('segment store: space reclamation', () => {
  it('deletes a segment file once all its messages are acked', async () => {
    const dir = freshDir('reclaim');
    const store = await open(dir, { segmentMaxBytes: 4096 });
    const ids = [];
    for (let i = 0; i < 60; i++) ids.push(putKey(store, ['q'], i, 500));
    await store.flush();
    const before = listSegments(dir);
    assert.ok(before.length >= 8, `rolled over into ${before.length} segments`);
    const first = segmentPath(dir, before[0]);
    const second = segmentPath(dir, before[1]);
    assert.ok(existsSync(first));
    store.ackMany('q', ids.slice(0, 20));
    await store.flush();
    assert.equal(existsSync(first), false, 'first segment deleted');
    assert.equal(existsSync(second), false, 'second segment deleted');
    store.ackMany('q', ids.slice(20));
    await store.flush();
    await store.flush();
    // Everything acked: at most the active segment (holding the acks) is left.
    assert.ok(listSegments(dir).length <= 2, `left: ${listSegments(dir).length}`);
    assert.ok(store.stats().segmentsDeleted >= before.length - 1);
    await store.close();
    const again = await open(dir, { segmentMaxBytes: 4096 });
    assert.equal(again.recovery.messageCount, 0);
    await again.close();
    assert.ok(listSegments(dir).length <= 2);
  });

  it('keeps a segment whose ack still matters for a live message in an older segment', async () => {
    const dir = freshDir('deps');
    const store = await open(dir, { segmentMaxBytes: 4096 });
    const shared = putKey(store, ['keep', 'drop'], 1, 500);
    const filler = [];
    for (let i = 0; i < 10; i++) filler.push(putKey(store, ['f'], 100 + i, 500));
    await store.flush();
    const sharedSegment = listSegments(dir)[0];
    store.ack('drop', shared); // this ack lands in a later segment
    const ackSegment = listSegments(dir).at(-1)!;
    for (let i = 0; i < 20; i++) filler.push(putKey(store, ['f'], 200 + i, 500));
    store.ackMany('f', filler);
    await store.flush();
    await store.flush();
    assert.ok(existsSync(segmentPath(dir, sharedSegment)), 'segment with the live message kept');
    assert.ok(existsSync(segmentPath(dir, ackSegment)), 'segment holding its ack kept');
    await store.close();
    const again = await open(dir, { segmentMaxBytes: 4096 });
    assert.deepEqual(again.recovery.queues.get('keep'), [shared]);
    assert.equal(again.recovery.queues.get('drop'), undefined);
    assert.equal(again.recovery.queues.get('f'), undefined);
    // Once the last reference goes, both go.
    again.ack('keep', shared);
    await again.flush();
    await again.flush();
    assert.equal(existsSync(segmentPath(dir, sharedSegment)), false);
    assert.equal(existsSync(segmentPath(dir, ackSegment)), false);
    await again.close();
  });

  it('ignores files that are not segments', async () => {
    const dir = freshDir('foreign');
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    const store = await open(dir);
    await store.close();
    assert.ok(readdirSync(dir).includes('notes.txt'));
  });
});

describe('segment store: group commit', () => {
  it('commits a burst of writes with a couple of fsyncs', async () => {
    const dir = freshDir('burst');
    const store = await open(dir);
    const base = store.stats().fsyncs;
    let last = 0;
    for (let i = 0; i < 5000; i++) last = putKey(store, ['q'], i, 200);
    assert.ok((await store.flush()) >= last);
    const stats = store.stats();
    assert.equal(stats.records, 5000);
    assert.ok(stats.fsyncs - base <= 2, `fsyncs: ${stats.fsyncs - base}`);
    await store.close();
  });

  it('shares fsyncs between many publishers writing on separate event-loop turns', async () => {
    const dir = freshDir('publishers');
    const store = await open(dir);
    let durable = 0;
    store.onDurable((t) => (durable = t));
    const base = store.stats().fsyncs;
    const publishers = 50;
    const perPublisher = 100;
    let confirmed = 0;
    await Promise.all(
      Array.from({ length: publishers }, async (_, p) => {
        for (let i = 0; i < perPublisher; i++) {
          const id = putKey(store, ['q'], p * 1000 + i, 100);
          // A publisher waiting for its confirm, as with publisher confirms.
          while (durable < id) await new Promise((r) => setImmediate(r));
          confirmed++;
        }
      }),
    );
    const fsyncs = store.stats().fsyncs - base;
    assert.equal(confirmed, publishers * perPublisher);
    assert.ok(fsyncs * 10 < confirmed, `${fsyncs} fsyncs for ${confirmed} confirmed records`);
    await store.close();
  });
});

describe('segment store: I/O failure', () => {
  it('stops the watermark, rejects flushes and refuses writes after an fsync error', async () => {
    const dir = freshDir('eio');
    const store = await open(dir);
    const first = putKey(store, ['q'], 1);
    await store.flush();
    const failures: Error[] = [];
    store.onFailure((e) => failures.push(e));
    const original = fs.fdatasync;
    (fs as { fdatasync: unknown }).fdatasync = (_fd: number, cb: (e: Error | null) => void) =>
      process.nextTick(cb, Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    try {
      const second = putKey(store, ['q'], 2);
      await assert.rejects(store.flush(), StoreFailedError);
      assert.equal(failures.length, 1);
      assert.ok(store.durableTicket >= first && store.durableTicket < second);
      assert.throws(() => putKey(store, ['q'], 3), StoreFailedError);
      assert.throws(() => store.ack('q', first), StoreFailedError);
    } finally {
      (fs as { fdatasync: unknown }).fdatasync = original;
    }
    await store.close();
  });
});

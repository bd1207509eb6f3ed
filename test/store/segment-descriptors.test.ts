// A large backlog spread over many segments does not hold one descriptor per segment: rolled-over
// segments close their descriptor once written, and reads keep at most a few open (least recently used).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { MessageId } from '../../src/store/message-store';
import { listSegments } from '../../src/store/segment-files';
import { openSegmentStore } from '../../src/store/segment-store';
import { messageFor, sameMessage, tempDir } from './store-helpers';

const temps: { remove(): void }[] = [];
after(() => temps.forEach((t) => t.remove()));

const openFds = () => readdirSync('/proc/self/fd').length;

describe('segment store: descriptors', () => {
  it('writing and reading back 300 segments keeps at most 10 descriptors open', async () => {
    const t = tempDir('fds');
    temps.push(t);
    const baseline = openFds();
    const store = await openSegmentStore({ dir: t.dir, segmentMaxBytes: 8192, cacheMaxBytes: 0 });
    const ids: MessageId[] = [];
    for (let i = 0; i < 1200; i++) {
      const m = messageFor(i, 1800);
      ids.push(store.storeMessage(['q'], m.routing, m.properties, m.body));
      if (i % 50 === 0) await store.flush();
    }
    await store.flush();
    const segments = listSegments(t.dir).length;
    assert.ok(segments >= 300, `only ${segments} segments`);
    let peak = openFds() - baseline;
    for (let i = 0; i < ids.length; i++) {
      const got = store.read(ids[i]);
      assert.ok(got && sameMessage(got, messageFor(i, 1800)), `message ${i}`);
      if (i % 40 === 0) peak = Math.max(peak, openFds() - baseline);
    }
    peak = Math.max(peak, openFds() - baseline);
    assert.ok(peak <= 10, `${peak} descriptors open for ${segments} segments`);
    await store.close();
    assert.equal(openFds(), baseline);
  });
});

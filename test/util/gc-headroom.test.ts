// WARREN_GC_HEADROOM_MB: the heap growing factor Warren gives V8 so that a small heap is not
// fully collected 10-15 times a second under load (src/util/gc-headroom.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { growingPercentFor } from '../../src/util/gc-headroom';
import { startBroker } from '../helpers/broker-process';
import { waitFor } from '../helpers/amqp-test';

const MB = 1024 * 1024;

describe('gc headroom', () => {
  it('asks for the growth that puts the next limit the headroom above the live heap', () => {
    assert.equal(growingPercentFor(16 * MB, 64 * MB), 400);
    assert.equal(growingPercentFor(32 * MB, 64 * MB), 200);
    assert.equal(growingPercentFor(100 * MB, 64 * MB), 64);
    assert.equal(growingPercentFor(320 * MB, 64 * MB), 20);
  });

  it("caps tiny heaps at 5x and leaves large heaps (and headroom 0) to V8's own factor", () => {
    assert.equal(growingPercentFor(4 * MB, 64 * MB), 400);
    assert.equal(growingPercentFor(640 * MB, 64 * MB), 0);
    assert.equal(growingPercentFor(4096 * MB, 64 * MB), 0);
    assert.equal(growingPercentFor(16 * MB, 0), 0);
  });

  const settings = (output: string) =>
    output
      .split('\n')
      .filter((l) => l.includes('gc headroom'))
      .map((l) => JSON.parse(l) as { heapGrowingPercent: number; liveMb: number });

  it('the server sets the factor at start (default 64 MB)', async () => {
    const b = await startBroker({ env: { WARREN_LOG_LEVEL: 'debug' } });
    try {
      await waitFor(() => settings(b.output()).length > 0, 5000, 'gc headroom log line');
      const [first] = settings(b.output());
      // A fresh node's heap is well under 64 MB: the factor asked for is over 2x.
      assert.ok(first.liveMb > 1 && first.liveMb < 64, `live ${first.liveMb} MB`);
      assert.ok(first.heapGrowingPercent >= 100 && first.heapGrowingPercent <= 400, `percent ${first.heapGrowingPercent}`);
    } finally {
      await b.stop();
    }
  });

  it('WARREN_GC_HEADROOM_MB=0 leaves V8 alone', async () => {
    const b = await startBroker({ env: { WARREN_LOG_LEVEL: 'debug', WARREN_GC_HEADROOM_MB: '0' } });
    try {
      // keepGcHeadroom runs before the listeners open: by now it would have logged.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(settings(b.output()), []);
    } finally {
      await b.stop();
    }
  });
});

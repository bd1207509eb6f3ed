// A quorum queue leader's held commands (settles, checkouts, returns, dead-letter marks):
// taken in order by the next enqueue batch, proposed alone at the next tick when none comes,
// at once past 4,096 ids, and nothing left armed once taken.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { HeldCommands } from '../../cluster/quorum/held-commands';

class ManualTicker {
  fns = new Set<() => void>();
  add(tick: () => void): () => void {
    this.fns.add(tick);
    return () => this.fns.delete(tick);
  }
  fire(): void {
    for (const f of [...this.fns]) f();
  }
}

const b = (s: string) => Buffer.from(s);

test('held commands: taken in order by an enqueue, else proposed alone at the next tick, at once past 4,096 ids', () => {
  const ticker = new ManualTicker();
  const alone: string[][] = [];
  const held = new HeldCommands(ticker, (cmds) => alone.push(cmds.map(String)));
  held.hold(b('checkout'), 3);
  held.hold(b('settle'), 2);
  assert.equal(ticker.fns.size, 1, 'one tick armed');
  assert.deepEqual(held.take().map(String), ['checkout', 'settle']);
  assert.equal(ticker.fns.size, 0, 'disarmed once taken');
  ticker.fire();
  assert.deepEqual(alone, [], 'nothing proposed alone once taken');
  assert.deepEqual(held.take(), []);

  held.hold(b('return'), 1);
  ticker.fire();
  assert.deepEqual(alone, [['return']], 'no enqueue came: proposed alone at the tick');
  assert.equal(ticker.fns.size, 0);

  held.hold(b('a'), 4000);
  held.hold(b('b'), 96);
  assert.deepEqual(alone, [['return'], ['a', 'b']], 'past 4,096 ids: at once');
  assert.equal(ticker.fns.size, 0);

  held.hold(b('c'), 1);
  held.flush();
  assert.deepEqual(alone.at(-1), ['c'], 'flush (a hand-over) proposes now');
  held.flush();
  assert.equal(alone.length, 3, 'nothing held: nothing proposed');
});

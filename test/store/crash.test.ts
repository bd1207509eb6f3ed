/**
 * Kills a writing child process with SIGKILL at a random moment, reopens its store and
 * checks that every record the child saw acknowledged as durable is there exactly once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { openSegmentStore } from '../../src/store/segment-store';
import { crashQueues, crashShouldAck } from './crash-plan';
import { messageFor, sameMessage, tempDir } from './store-helpers';

const temps: { remove(): void }[] = [];
after(() => temps.forEach((t) => t.remove()));

interface Durable {
  storedN: number;
  ackedN: number;
}

/** Runs the writer until `killAfterMs` after its first durable report, then SIGKILLs it. */
function runAndKill(dir: string, seed: number, killAfterMs: number): Promise<Durable> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'crash-writer.js'), dir, String(seed)], {
      env: { ...process.env, WARREN_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
      timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited early: code ${code} signal ${signal}`));
      const lines = text.split('\n');
      lines.pop(); // possibly cut short by the kill
      const last = lines.at(-1)?.split(' ');
      if (last === undefined || last[0] !== 'D') return reject(new Error('writer reported nothing'));
      resolve({ storedN: Number(last[1]), ackedN: Number(last[2]) });
    });
  });
}

it('after SIGKILL at a random moment, every durable record is present exactly once', async () => {
  const seed = Number(process.env.WARREN_CRASH_SEED ?? Date.now() % 100000);
  for (let round = 0; round < 3; round++) {
    const temp = tempDir('crash');
    temps.push(temp);
    const killAfterMs = 100 + ((seed * 7919 + round * 104729) % 700);
    const durable = await runAndKill(temp.dir, seed + round, killAfterMs);
    const context = `seed ${seed} round ${round} killAfter ${killAfterMs}ms, durable ${JSON.stringify(durable)}`;
    // Under load (CI runs suites side by side) fsyncs slow down: a few dozen records still make a real test.
    assert.ok(durable.storedN > 20, `writer made progress: ${context}`);

    const store = await openSegmentStore({ dir: temp.dir, segmentMaxBytes: 64 * 1024 });
    assert.equal(store.recovery.corruptRegions, 0, context);
    for (const queue of ['q', 'r']) {
      const ids = store.recovery.queues.get(queue) ?? [];
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids increase in ${queue}: ${context}`);
      const seen = new Set<number>();
      for (const id of ids) {
        const m = store.read(id);
        assert.ok(m !== undefined, `readable ${id}: ${context}`);
        const n = m.body.readUInt32BE(0);
        assert.ok(sameMessage(m, messageFor(n, m.body.length)), `bytes of ${n}: ${context}`);
        assert.ok(!seen.has(n), `message ${n} once in ${queue}: ${context}`);
        seen.add(n);
      }
      for (let n = 1; n <= durable.storedN; n++) {
        if (!crashQueues(n).includes(queue)) continue;
        if (!crashShouldAck(n)) assert.ok(seen.has(n), `durable message ${n} in ${queue}: ${context}`);
        else if (n <= durable.ackedN) assert.ok(!seen.has(n), `durably acked ${n} gone from ${queue}: ${context}`);
      }
    }
    await store.close();
  }
});

/**
 * Child process for crash.test.ts: writes messages as fast as it can until killed.
 * Usage: node crash-writer.js DIR SEED
 *
 * Message n (1, 2, ...) carries messageFor(n, size) and goes to queue "q", and also to
 * "r" when n % 5 === 0. Once a message is durable it is acked from all its queues if
 * crashShouldAck(n) (crash-plan.ts). After every group commit it prints, synchronously,
 *   D <highest n durably stored> <highest n whose ack is durable>
 * so every printed line states facts that the store has acknowledged as durable.
 */
import { writeSync } from 'node:fs';
import { openSegmentStore } from '../../src/store/segment-store';
import { crashQueues, crashShouldAck } from './crash-plan';
import { messageFor, prng } from './store-helpers';

async function main(): Promise<void> {
  const [dir, seedText] = process.argv.slice(2);
  const random = prng(Number(seedText));
  const store = await openSegmentStore({ dir, segmentMaxBytes: 64 * 1024, cacheMaxBytes: 256 * 1024 });
  const idOf: number[] = [0];
  const ackTickets: number[] = [];
  const ackedN: number[] = [];
  let durableN = 0;
  let ackedUpTo = 0;
  let ackCursor = 0;

  store.onDurable((durable) => {
    while (durableN + 1 < idOf.length && idOf[durableN + 1] <= durable) {
      durableN++;
      if (crashShouldAck(durableN)) {
        let ticket = 0;
        for (const q of crashQueues(durableN)) ticket = store.ack(q, idOf[durableN]);
        ackTickets.push(ticket);
        ackedN.push(durableN);
      }
    }
    while (ackCursor < ackTickets.length && ackTickets[ackCursor] <= durable) ackedUpTo = ackedN[ackCursor++];
    writeSync(1, `D ${durableN} ${ackedUpTo}\n`);
  });

  const publish = (): void => {
    const count = 1 + Math.floor(random() * 50);
    for (let i = 0; i < count; i++) {
      const n = idOf.length;
      const m = messageFor(n, 4 + Math.floor(random() * 2000));
      idOf.push(store.storeMessage(crashQueues(n), m.routing, m.properties, m.body));
    }
    // Limit the backlog, as publisher flow control would.
    if (store.stats().pendingBytes > 4 * 1024 * 1024) setTimeout(publish, 1);
    else setImmediate(publish);
  };
  publish();
}

void main();

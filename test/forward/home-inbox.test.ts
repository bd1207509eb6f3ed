import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Broker } from '../../src/broker/broker';
import { HomeInbox } from '../../cluster/forward/home-inbox';
import { decodeOutcomes, OUTCOME_NACK, OUTCOME_OK, OUTCOME_RESEND } from '../../cluster/forward/forward-codec';

// The outcome paths used here (held parts, local done) never look at the broker.
const noBroker = {} as Broker;

describe('home inbox outcomes', () => {
  it('the outcomes of one burst go out together, before an immediate queued ahead of them (not one turn later)', async () => {
    const sent: Buffer[] = [];
    const order: string[] = [];
    const inbox = new HomeInbox(noBroker, (payload) => {
      sent.push(payload);
      order.push('outcomes');
    });
    const turnEnd = new Promise<void>((resolve) =>
      setImmediate(() => {
        order.push('immediate');
        resolve();
      }),
    );
    // Forward 1 and 2 wait on a queue's part (a quorum queue's commit), 3 only on itself.
    inbox.hold(1);
    inbox.hold(2);
    inbox.localDone(1, true);
    inbox.localDone(2, true);
    inbox.partDone(1, true);
    inbox.partResend(2);
    inbox.localDone(3, false);
    assert.equal(sent.length, 0, 'nothing is sent while the burst runs');
    await turnEnd;
    assert.deepEqual(order, ['outcomes', 'immediate']);
    assert.equal(sent.length, 1);
    const o = decodeOutcomes(sent[0]);
    assert.deepEqual(o.seqs, [1, 2, 3]);
    assert.deepEqual(o.codes, [OUTCOME_OK, OUTCOME_RESEND, OUTCOME_NACK]);
    assert.equal(inbox.unsettled, 0);
  });

  it('a closed inbox sends nothing', async () => {
    const sent: Buffer[] = [];
    const inbox = new HomeInbox(noBroker, (payload) => sent.push(payload));
    inbox.close();
    inbox.localDone(1, true);
    await new Promise((r) => setImmediate(r));
    assert.equal(sent.length, 0);
  });
});

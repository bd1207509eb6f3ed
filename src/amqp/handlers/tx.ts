import { MethodKey, type AmqpMethod } from '../../protocol/methods.generated';
import { PreconditionFailed } from '../../broker/errors';
import type { ChannelState as Channel } from '../channel-state';
import { ConfirmTracker } from '../confirms';
import { routeAndEnqueue } from './publish';
import { settleDeliveries } from './acks';

/** tx.select / commit / rollback and confirm.select: the two mutually exclusive channel modes. */
export function handleTxMethod(ch: Channel, m: AmqpMethod): void {
  const out = ch.connection.out;
  switch (m.key) {
    case MethodKey.ConfirmSelect:
      if (ch.tx) throw new PreconditionFailed('cannot switch from tx to confirm mode');
      if (!ch.confirms) {
        const tracker = new ConfirmTracker(ch.id, out, () => ch.connection.markConfirmsDirty(ch), [ch.stats, ch.vhost.stats]);
        tracker.onIdle = () => ch.vhost.forgetWaiter(tracker);
        ch.confirms = tracker;
      }
      if (!m.args.nowait) out.method(ch.id, { key: MethodKey.ConfirmSelectOk, args: {} });
      return;
    case MethodKey.TxSelect:
      if (ch.confirms) throw new PreconditionFailed('cannot switch from confirm to tx mode');
      ch.tx ??= { publishes: [], settlements: [] };
      out.method(ch.id, { key: MethodKey.TxSelectOk, args: {} });
      return;
    case MethodKey.TxCommit: {
      const tx = requireTx(ch);
      const { publishes, settlements } = tx;
      tx.publishes = [];
      tx.settlements = [];
      for (const p of publishes) routeAndEnqueue(ch, p.method, p.message);
      for (const s of settlements) settleDeliveries(ch, s);
      out.method(ch.id, { key: MethodKey.TxCommitOk, args: {} });
      return;
    }
    case MethodKey.TxRollback: {
      const tx = requireTx(ch);
      tx.publishes = [];
      tx.settlements = [];
      out.method(ch.id, { key: MethodKey.TxRollbackOk, args: {} });
      return;
    }
  }
  throw new PreconditionFailed('unexpected tx method');
}

function requireTx(ch: Channel) {
  if (!ch.tx) throw new PreconditionFailed('channel is not transactional');
  return ch.tx;
}

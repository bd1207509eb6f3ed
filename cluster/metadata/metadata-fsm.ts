/**
 * The Raft state machine of the cluster's metadata: each committed entry is a
 * DefinitionCommand (command-codec bytes) applied to this node's Broker. Every node
 * applies the same commands in the same order, so every node's model is the same.
 */
import type { FSM, LogEntry } from '../raft';
import type { Broker } from '../../src/broker/broker';
import { decodeCommand } from '../../src/broker/command-codec';
import type { Logger } from '../../src/log/logger';
import { errorOutcome, type ApplyOutcome } from './apply-outcome';
import { allDefinitions, decodeImage, encodeImage } from './definitions-image';
import { reconcile } from './reconcile';

interface IndexWaiter {
  index: number;
  resolve(): void;
}

/**
 * Concurrency: Raft calls apply/snapshot/restore from its drive loop, one at a time.
 * waitApplied() may be called from anywhere on the event loop.
 */
export class MetadataFsm implements FSM<ApplyOutcome> {
  private applied = 0;
  private waiters: IndexWaiter[] = [];
  /** Supplies the Raft's applied index after a restore (a snapshot's index is not passed to restore()). */
  appliedIndexSource: (() => number) | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
  ) {}

  /** The highest log index applied to the model. */
  get appliedIndex(): number {
    return Math.max(this.applied, this.appliedIndexSource?.() ?? 0);
  }

  apply(entry: LogEntry): ApplyOutcome {
    let outcome: ApplyOutcome;
    try {
      const cmd = decodeCommand(entry.data);
      outcome = { index: entry.index, result: this.broker.applyCommand(cmd) };
    } catch (err) {
      // Model errors are data: the same command fails the same way on every node.
      outcome = errorOutcome(entry.index, err);
    }
    this.applied = entry.index;
    this.release();
    return outcome;
  }

  snapshot(): Buffer {
    return encodeImage(allDefinitions(this.broker));
  }

  restore(data: Buffer): void {
    const image = decodeImage(data);
    reconcile(this.broker, image, this.log);
    this.log.info({ commands: image.length }, 'metadata restored from snapshot');
    // The snapshot's index is known to Raft only; appliedIndexSource reads it.
    queueMicrotask(() => this.release());
  }

  /** Resolves once the entry at `index` is applied here, or after `timeoutMs` (resolves false). */
  waitApplied(index: number, timeoutMs: number): Promise<boolean> {
    if (this.appliedIndex >= index) return Promise.resolve(true);
    return new Promise((resolve) => {
      const poll = setInterval(() => {
        if (this.appliedIndex >= index) done(true);
      }, 50);
      const timer = setTimeout(() => done(false), timeoutMs);
      const waiter: IndexWaiter = { index, resolve: () => done(true) };
      const done = (ok: boolean) => {
        clearInterval(poll);
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(ok);
      };
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    if (this.waiters.length === 0) return;
    const applied = this.appliedIndex;
    for (const w of this.waiters.filter((x) => x.index <= applied)) w.resolve();
  }
}

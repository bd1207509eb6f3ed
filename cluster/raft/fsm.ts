import type { LogEntry } from './types';

/**
 * The replicated state machine. Raft calls these methods from its single drive loop,
 * never concurrently with each other: apply() for each committed command in log order,
 * snapshot() when the log should be compacted, restore() on start-up (latest snapshot)
 * and when the leader sends a snapshot. apply() must be deterministic; its return value
 * resolves the leader's apply() promise.
 */
export interface FSM<R = unknown> {
  apply(entry: LogEntry): R;
  /** A serialized image of the state after every entry applied so far. */
  snapshot(): Promise<Buffer> | Buffer;
  /** Replaces the whole state with a snapshot() image. */
  restore(data: Buffer): Promise<void> | void;
  /** Optional: called (and awaited) just before snapshot(), with nothing applied in between. */
  prepareSnapshot?(): Promise<void>;
  /** Optional: true when a snapshot is due before snapshotThresholdEntries (e.g. many bytes applied). */
  snapshotDue?(): boolean;
}

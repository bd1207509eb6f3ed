import type { Snapshot, SnapshotMeta } from './types';

/**
 * Durable storage for FSM snapshots. One call at a time; save() is durable when it
 * resolves and is atomic (a crash leaves the previous snapshot as the latest).
 * Implementations keep a bounded number of older snapshots.
 */
export interface SnapshotStore {
  save(snapshot: Snapshot): Promise<void>;
  /** The newest intact snapshot, or undefined. */
  latest(): Promise<Snapshot | undefined>;
  /** Metadata of the retained snapshots, newest first. */
  list(): Promise<SnapshotMeta[]>;
  close(): Promise<void>;
}

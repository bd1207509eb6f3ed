import type { SnapshotStore } from './snapshot-store';
import type { Snapshot, SnapshotMeta } from './types';

/** An in-memory SnapshotStore keeping the newest `retain` snapshots. */
export class MemorySnapshotStore implements SnapshotStore {
  private snapshots: Snapshot[] = [];

  constructor(private readonly retain = 2) {}

  async save(snapshot: Snapshot): Promise<void> {
    this.snapshots.unshift(snapshot);
    this.snapshots.length = Math.min(this.snapshots.length, this.retain);
  }

  async latest(): Promise<Snapshot | undefined> {
    return this.snapshots[0];
  }

  async list(): Promise<SnapshotMeta[]> {
    return this.snapshots.map((s) => s.meta);
  }

  async close(): Promise<void> {}
}

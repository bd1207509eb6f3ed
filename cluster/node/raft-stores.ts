/** The Raft stores of a node, under `<dataDir>/raft`. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DiskLogStore, DiskSnapshotStore, DiskStableStore, type HardState } from '../raft';

export interface RaftStores {
  log: DiskLogStore;
  stable: DiskStableStore;
  snapshots: DiskSnapshotStore;
  /** No log, no term, no snapshot: this node never was in a cluster (or was reset). */
  fresh: boolean;
  /** The hard state found on disk (its commit index is what this node applied before it stopped). */
  hardState: HardState;
}

export function raftDir(dataDir: string): string {
  return join(dataDir, 'raft');
}

export async function openRaftStores(dataDir: string): Promise<RaftStores> {
  const dir = raftDir(dataDir);
  const log = await DiskLogStore.open(join(dir, 'log'));
  const stable = new DiskStableStore(join(dir, 'state'));
  const snapshots = new DiskSnapshotStore(join(dir, 'snapshots'));
  const hardState = await stable.load();
  const fresh = (await log.lastIndex()) === 0 && hardState.term === 0 && (await snapshots.latest()) === undefined;
  return { log, stable, snapshots, fresh, hardState };
}

/** Deletes the Raft state (the node must not be running Raft on it). */
export function wipeRaftStores(dataDir: string): void {
  rmSync(raftDir(dataDir), { recursive: true, force: true });
}

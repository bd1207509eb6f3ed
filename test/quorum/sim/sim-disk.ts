import type { LogStore } from '../../../cluster/raft/log-store';
import type { StableStore } from '../../../cluster/raft/stable-store';
import type { SnapshotStore } from '../../../cluster/raft/snapshot-store';
import { EMPTY_HARD_STATE, type HardState, type LogEntry, type Snapshot, type SnapshotMeta } from '../../../cluster/raft/types';

/** What a node's disk holds: the log and hard state (one write-ahead log) and its snapshots. */
interface DiskImage {
  entries: LogEntry[];
  hard: HardState;
  snapshots: Snapshot[];
}

interface PendingWrite {
  /** Changes an image the way this write does. */
  change(image: DiskImage): void;
  resolve(): void;
}

function copyImage(i: DiskImage): DiskImage {
  return { entries: i.entries.slice(), hard: { ...i.hard }, snapshots: i.snapshots.slice() };
}

/**
 * One simulated server's disk. Writes are seen at once by the node's own reads but become
 * durable (and their promise resolves) only when the simulation syncs the disk; a crash
 * keeps a random prefix of the writes not yet synced (a write-ahead log written in order,
 * with a torn tail cut on recovery), and loses the rest. The log and the hard state share
 * one ordered queue, as they share the node's WAL in production (orderedStores), or have a
 * queue each (separateStable: two files, as DiskLogStore and DiskStableStore); snapshots
 * have their own (a separate file, written atomically).
 */
export class SimDisk {
  private durable: DiskImage = { entries: [], hard: { ...EMPTY_HARD_STATE }, snapshots: [] };
  private visible: DiskImage = copyImage(this.durable);
  private walQueue: PendingWrite[] = [];
  /** The hard state's writes when it is a file of its own (unordered stores); else they go in walQueue. */
  private stableQueue: PendingWrite[] = [];
  private snapQueue: PendingWrite[] = [];
  /** Bumped on each crash: stores opened before it are dead (their calls never complete). */
  private generation = 0;

  /** `separateStable`: the hard state is a file of its own, written independently of the log. */
  constructor(readonly separateStable = false, readonly retainSnapshots = 2) {}

  get pendingWrites(): number {
    return this.walQueue.length + this.stableQueue.length + this.snapQueue.length;
  }

  /** Stores for a freshly started server (the previous ones must be dead: crash() first). */
  open(): { log: LogStore; stable: StableStore; snapshots: SnapshotStore } {
    const gen = this.generation;
    return { log: new SimLogStore(this, gen), stable: new SimStableStore(this, gen), snapshots: new SimSnapshotStore(this, gen) };
  }

  /** Makes the first `walCount` and `snapCount` pending writes durable and resolves them. */
  sync(walCount = Infinity, snapCount = Infinity): void {
    this.complete(this.walQueue, walCount);
    this.complete(this.stableQueue, walCount);
    this.complete(this.snapQueue, snapCount);
  }

  /** Loses the power: keeps a prefix of each queue of pending writes, chosen by `rand`. */
  crash(rand: () => number): { keptWrites: number; lostWrites: number } {
    let kept = 0;
    let lost = 0;
    for (const queue of [this.walQueue, this.stableQueue, this.snapQueue]) {
      const keep = Math.floor(rand() * (queue.length + 1));
      for (const w of queue.slice(0, keep)) w.change(this.durable);
      kept += keep;
      lost += queue.length - keep;
    }
    // Promises of the dead server's writes never settle: nothing of it runs any more.
    this.walQueue = [];
    this.stableQueue = [];
    this.snapQueue = [];
    this.visible = copyImage(this.durable);
    this.generation++;
    return { keptWrites: kept, lostWrites: lost };
  }

  /** Whether entry (index, term) is durable here: in the synced log, or covered by a synced snapshot. */
  durablyHolds(index: number, term: number): boolean {
    const snap = this.durable.snapshots[0];
    if (snap && snap.meta.index >= index) return true;
    return this.durable.entries.some((e) => e.index === index && e.term === term);
  }

  /** The entries a node's reads see (its log). */
  entries(): readonly LogEntry[] {
    return this.visible.entries;
  }

  // ---- used by the stores ----

  alive(gen: number): boolean {
    return gen === this.generation;
  }

  read(): DiskImage {
    return this.visible;
  }

  write(gen: number, queue: 'wal' | 'stable' | 'snap', change: (image: DiskImage) => void): Promise<void> {
    if (gen !== this.generation) return new Promise<void>(() => undefined);
    change(this.visible);
    const q = queue === 'snap' ? this.snapQueue : queue === 'stable' && this.separateStable ? this.stableQueue : this.walQueue;
    return new Promise<void>((resolve) => q.push({ change, resolve }));
  }

  private complete(queue: PendingWrite[], count: number): void {
    const n = Math.min(count, queue.length);
    const done = queue.splice(0, n);
    for (const w of done) {
      w.change(this.durable);
      w.resolve();
    }
  }
}

/** Reads of a dead server never answer, like its writes. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

class SimLogStore implements LogStore {
  constructor(private readonly disk: SimDisk, private readonly gen: number) {}

  async firstIndex(): Promise<number> {
    if (!this.disk.alive(this.gen)) return never();
    const e = this.disk.read().entries;
    return e.length === 0 ? 0 : e[0].index;
  }

  async lastIndex(): Promise<number> {
    if (!this.disk.alive(this.gen)) return never();
    const e = this.disk.read().entries;
    return e.length === 0 ? 0 : e[e.length - 1].index;
  }

  async getRange(lo: number, hi: number): Promise<LogEntry[]> {
    if (!this.disk.alive(this.gen)) return never();
    return this.disk.read().entries.filter((e) => e.index >= lo && e.index <= hi);
  }

  storeEntries(entries: LogEntry[]): Promise<void> {
    const batch = entries.slice();
    // The contiguity rule of LogStore, checked when the write is issued.
    const image = this.disk.read().entries;
    const last = image.length === 0 ? batch[0].index - 1 : image[image.length - 1].index;
    if (this.disk.alive(this.gen) && batch.length > 0 && batch[0].index !== last + 1) {
      return Promise.reject(new Error(`sim log store: entry ${batch[0].index} does not follow ${last}`));
    }
    return this.disk.write(this.gen, 'wal', (i) => {
      i.entries.push(...batch);
    });
  }

  truncateSuffix(fromIndex: number): Promise<void> {
    return this.disk.write(this.gen, 'wal', (i) => {
      i.entries = i.entries.filter((e) => e.index < fromIndex);
    });
  }

  deletePrefix(upToIndex: number): Promise<void> {
    return this.disk.write(this.gen, 'wal', (i) => {
      i.entries = i.entries.filter((e) => e.index > upToIndex);
    });
  }

  async close(): Promise<void> {}
}

class SimStableStore implements StableStore {
  constructor(private readonly disk: SimDisk, private readonly gen: number) {}

  async load(): Promise<HardState> {
    if (!this.disk.alive(this.gen)) return never();
    return { ...this.disk.read().hard };
  }

  save(state: HardState): Promise<void> {
    const h = { ...state };
    return this.disk.write(this.gen, 'stable', (i) => {
      i.hard = { ...h };
    });
  }

  async close(): Promise<void> {}
}

class SimSnapshotStore implements SnapshotStore {
  constructor(private readonly disk: SimDisk, private readonly gen: number) {}

  save(snapshot: Snapshot): Promise<void> {
    const retain = this.disk.retainSnapshots;
    return this.disk.write(this.gen, 'snap', (i) => {
      i.snapshots = [snapshot, ...i.snapshots].slice(0, retain);
    });
  }

  async latest(): Promise<Snapshot | undefined> {
    if (!this.disk.alive(this.gen)) return never();
    return this.disk.read().snapshots[0];
  }

  async list(): Promise<SnapshotMeta[]> {
    if (!this.disk.alive(this.gen)) return never();
    return this.disk.read().snapshots.map((s) => s.meta);
  }

  async close(): Promise<void> {}
}

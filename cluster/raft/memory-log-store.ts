import type { LogStore } from './log-store';
import type { LogEntry } from './types';

/** An in-memory LogStore for tests and single-process use; nothing survives the process. */
export class MemoryLogStore implements LogStore {
  private entries: LogEntry[] = [];

  async firstIndex(): Promise<number> {
    return this.entries.length === 0 ? 0 : this.entries[0].index;
  }

  async lastIndex(): Promise<number> {
    return this.entries.length === 0 ? 0 : this.entries[this.entries.length - 1].index;
  }

  async getRange(lo: number, hi: number): Promise<LogEntry[]> {
    return this.entries.filter((e) => e.index >= lo && e.index <= hi);
  }

  async storeEntries(entries: LogEntry[]): Promise<void> {
    for (const e of entries) {
      const last = this.entries.length === 0 ? e.index - 1 : this.entries[this.entries.length - 1].index;
      if (e.index !== last + 1) throw new Error(`log store: entry ${e.index} does not follow ${last}`);
      this.entries.push(e);
    }
  }

  async truncateSuffix(fromIndex: number): Promise<void> {
    this.entries = this.entries.filter((e) => e.index < fromIndex);
  }

  async deletePrefix(upToIndex: number): Promise<void> {
    this.entries = this.entries.filter((e) => e.index > upToIndex);
  }

  async close(): Promise<void> {}
}

import type { LogEntry } from './types';

/**
 * Durable storage for log entries. Raft calls one method at a time (it awaits each
 * promise before the next call); a resolved promise means the change is durable.
 * Indexes are contiguous: storeEntries() must continue right after lastIndex(), or
 * start anywhere when the store is empty (after a snapshot install cleared it).
 */
export interface LogStore {
  /** First stored index, or 0 when empty. */
  firstIndex(): Promise<number>;
  /** Last stored index, or 0 when empty. */
  lastIndex(): Promise<number>;
  /** Entries with lo ≤ index ≤ hi that are stored, in order. */
  getRange(lo: number, hi: number): Promise<LogEntry[]>;
  storeEntries(entries: LogEntry[]): Promise<void>;
  /** Deletes every entry with index ≥ fromIndex (a conflicting suffix). */
  truncateSuffix(fromIndex: number): Promise<void>;
  /** Deletes entries with index ≤ upToIndex (covered by a snapshot); may keep some physically. */
  deletePrefix(upToIndex: number): Promise<void>;
  close(): Promise<void>;
}

import type { StableStore } from './stable-store';
import { EMPTY_HARD_STATE, type HardState } from './types';

/** An in-memory StableStore; survives a Raft restart within one process, for tests. */
export class MemoryStableStore implements StableStore {
  private state: HardState = { ...EMPTY_HARD_STATE };

  async load(): Promise<HardState> {
    return { ...this.state };
  }

  async save(state: HardState): Promise<void> {
    this.state = { ...state };
  }

  async close(): Promise<void> {}
}

import type { HardState } from './types';

/**
 * Durable storage for the hard state (term, vote, commit). One call at a time; a
 * resolved save() is durable and atomic (the old or the new state, never a mix).
 */
export interface StableStore {
  load(): Promise<HardState>;
  save(state: HardState): Promise<void>;
  close(): Promise<void>;
}

import { SimCluster, type SimOptions } from './sim/sim-cluster';

/** The variants every random schedule cycles through (seed mod count picks one). */
export const VARIANTS: Omit<SimOptions, 'seed'>[] = [
  { nodes: 3, dropRate: 0.05, duplicateRate: 0.03, codecRate: 0.1 },
  { nodes: 5, dropRate: 0.05, duplicateRate: 0.03, snapshotEvery: 8, trailingEntries: 2 },
  { nodes: 3, dropRate: 0.1, duplicateRate: 0.05, snapshotEvery: 5, maxEntriesPerAppend: 2 },
  { nodes: 5, dropRate: 0.02, duplicateRate: 0.02, preVote: false, checkQuorum: false, maxInflightAppends: 2 },
  { nodes: 3, dropRate: 0.05, duplicateRate: 0.05, preVote: true, checkQuorum: false, snapshotEvery: 10 },
  { nodes: 5, dropRate: 0.1, duplicateRate: 0.02, preVote: false, checkQuorum: true, snapshotEvery: 6, codecRate: 0.2 },
  { nodes: 5, dropRate: 0.05, duplicateRate: 0.02, preVote: false, checkQuorum: false, maxEntriesPerAppend: 1 },
  { nodes: 3, spareNodes: 2, dropRate: 0.05, duplicateRate: 0.02, snapshotEvery: 7 },
  { nodes: 4, spareNodes: 2, dropRate: 0.03, duplicateRate: 0.03, preVote: false, maxEntriesPerAppend: 2 },
  { nodes: 3, dropRate: 0.05, duplicateRate: 0.03, snapshotEvery: 6, idleHeartbeatTicks: 4 },
  { nodes: 5, spareNodes: 1, dropRate: 0.05, duplicateRate: 0.02, checkQuorum: true, codecRate: 0.2, idleHeartbeatTicks: 6 },
  { nodes: 3, dropRate: 0.05, duplicateRate: 0.03, snapshotEvery: 6, idleHeartbeatTicks: 4, lazyCommitNotice: true },
  { nodes: 5, spareNodes: 1, dropRate: 0.05, duplicateRate: 0.02, maxInflightAppends: 2, lazyCommitNotice: true },
];

/**
 * Runs one random schedule: `steps` random actions with faults, then heal and demand
 * convergence. Throws with the seed in the message so it can be replayed (RAFT_SEED).
 */
export function runSchedule(seed: number, steps: number): SimCluster {
  const variant = VARIANTS[seed % VARIANTS.length];
  const sim = new SimCluster({ seed, ...variant });
  try {
    for (let i = 0; i < steps; i++) sim.randomStep({ crash: true, partition: true });
    sim.converge();
  } catch (err) {
    const e = err as Error;
    e.message = `seed ${seed} (replay: RAFT_SEED=${seed} node --test dist/test/raft/sim-random.test.js), step ${sim.steps}, variant ${JSON.stringify(variant)}: ${e.message}`;
    throw e;
  }
  return sim;
}

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { runSchedule } from './sim-schedules';

// RAFT_SEED=n replays one schedule; RAFT_SCHEDULES and RAFT_STEPS scale the run.
const replay = process.env.RAFT_SEED;
const schedules = Number(process.env.RAFT_SCHEDULES ?? 3000);
const steps = Number(process.env.RAFT_STEPS ?? 2500);
const firstSeed = Number(process.env.RAFT_FIRST_SEED ?? 1);

test(`random schedules: ${replay ? `seed ${replay}` : `${schedules} seeds × ${steps} steps`}`, () => {
  const seeds = replay ? [Number(replay)] : Array.from({ length: schedules }, (_, i) => firstSeed + i);
  let applied = 0;
  let elections = 0;
  for (const seed of seeds) {
    const sim = runSchedule(seed, steps);
    applied += sim.checker.maxApplied;
    elections += Math.max(...sim.nodes.map((n) => n.core?.stats().term ?? 0));
  }
  // The schedules must do real work, or the safety checks prove nothing.
  assert.ok(applied > seeds.length * 5, `too little progress: ${applied} entries applied over ${seeds.length} schedules`);
  assert.ok(elections > seeds.length, `too few elections: ${elections}`);
});

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self
 * time, as a percentage of all samples, and the share of idle / GC / program time.
 *
 *   node dist/bench/profile-summary.js PROFILE.cpuprofile [TOP]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self samples per function (name + location), largest first, with the caller that accounts for most of them. */
export function topSelf(profile: CpuProfile, top: number): { name: string; where: string; pct: number; caller: string }[] {
  const byNode = new Map<number, number>();
  for (const id of profile.samples) byNode.set(id, (byNode.get(id) ?? 0) + 1);
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const total = profile.samples.length;
  const byFunction = new Map<string, { name: string; where: string; hits: number; callers: Map<string, number> }>();
  for (const n of profile.nodes) {
    const hits = byNode.get(n.id) ?? 0;
    if (hits === 0) continue;
    const f = n.callFrame;
    const file = f.url.startsWith('file://') ? relative(process.cwd(), f.url.slice(7)) : f.url;
    const where = file === '' ? '' : `${file}:${f.lineNumber + 1}`;
    const name = f.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, hits: 0, callers: new Map<string, number>() };
    entry.hits += hits;
    const p = parent.get(n.id);
    const callerName = p ? p.callFrame.functionName || '(anonymous)' : '';
    entry.callers.set(callerName, (entry.callers.get(callerName) ?? 0) + hits);
    byFunction.set(key, entry);
  }
  return [...byFunction.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => {
      const [caller, hits] = [...e.callers.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
      const share = e.hits > 0 ? Math.round((100 * hits) / e.hits) : 0;
      return { name: e.name, where: e.where, pct: (100 * e.hits) / total, caller: caller === '' ? '' : `${caller} (${share} %)` };
    });
}

if (require.main === module) {
  const [path, topArg] = process.argv.slice(2);
  if (!path) {
    console.error('usage: node dist/bench/profile-summary.js PROFILE.cpuprofile [TOP]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const rows = topSelf(profile, Number(topArg ?? 20));
  console.log('| # | self % | function | where | main caller |');
  console.log('|--:|--:|---|---|---|');
  rows.forEach((r, i) => console.log(`| ${i + 1} | ${r.pct.toFixed(1)} | \`${r.name}\` | ${r.where} | ${r.caller} |`));
}

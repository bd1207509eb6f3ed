// Draws failover drill timelines (bench/drills/run-drill.ts writes one per run) as a static
// SVG: confirms, deliveries and nacks per 100 ms around the fault, one panel per run, the
// fault's events as dashed lines. The same approach as bench/cluster-chart.mjs (plain SVG
// text, no dependency).
//   node dist/bench/drills/drill-chart.js out.svg run-a.timeline.json [run-b.timeline.json ...]
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { DrillTimeline } from './confirmed-workload';

export interface ChartPanel {
  title: string;
  timeline: DrillTimeline;
  /** One line under the title (e.g. the run's stalls and losses). */
  subtitle?: string;
}

const W = 900;
const PANEL_H = 190;
const LEFT = 56;
const RIGHT = 16;
const TOP = 40;
// Drawn in this order: deliveries under confirms (the two mostly coincide).
const SERIES: { key: 'confirmed' | 'delivered' | 'nacked'; colour: string; label: string; width: number }[] = [
  { key: 'delivered', colour: '#69c07a', label: 'deliveries', width: 2.4 },
  { key: 'confirmed', colour: '#1f5fa0', label: 'confirms', width: 1.1 },
  { key: 'nacked', colour: '#d9480f', label: 'nacks', width: 1.3 },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The part of the run worth showing: 2 s before the first event to 4 s after the last. */
function window(t: DrillTimeline): [number, number] {
  const n = t.confirmed.length;
  if (t.events.length === 0) return [0, n];
  const first = Math.min(...t.events.map((e) => e.atMs));
  const last = Math.max(...t.events.map((e) => e.atMs));
  return [Math.max(0, Math.floor((first - 2000) / t.bucketMs)), Math.min(n, Math.ceil((last + 4000) / t.bucketMs))];
}

function niceStep(max: number): number {
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

function panelSvg(p: ChartPanel, y0: number): string {
  const t = p.timeline;
  const [from, to] = window(t);
  const plotW = W - LEFT - RIGHT;
  const plotH = PANEL_H - 70;
  const top = y0 + 38;
  const base = top + plotH;
  const max = Math.max(1, ...SERIES.flatMap((s) => t[s.key].slice(from, to)));
  const step = niceStep(max);
  const ymax = Math.ceil(max / step) * step;
  const x = (bucket: number) => LEFT + ((bucket - from) / Math.max(1, to - from)) * plotW;
  const y = (v: number) => base - (v / ymax) * plotH;
  let s = `<text x="${LEFT}" y="${y0 + 14}" font-size="13" font-weight="bold">${esc(p.title)}</text>\n`;
  if (p.subtitle) s += `<text x="${LEFT}" y="${y0 + 29}" fill="#444">${esc(p.subtitle)}</text>\n`;
  for (let v = 0; v <= ymax; v += step) {
    s += `<line x1="${LEFT}" y1="${y(v).toFixed(1)}" x2="${W - RIGHT}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>\n`;
    s += `<text x="${LEFT - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v}</text>\n`;
  }
  // Seconds since the first event (the fault) along the x axis.
  const zeroMs = t.events.length ? Math.min(...t.events.map((e) => e.atMs)) : 0;
  const spanS = ((to - from) * t.bucketMs) / 1000;
  const tick = spanS > 60 ? 10 : spanS > 25 ? 5 : spanS > 10 ? 2 : 1;
  for (let sec = Math.ceil((from * t.bucketMs - zeroMs) / 1000 / tick) * tick; sec * 1000 + zeroMs <= to * t.bucketMs; sec += tick) {
    const bx = x((sec * 1000 + zeroMs) / t.bucketMs);
    s += `<line x1="${bx.toFixed(1)}" y1="${base}" x2="${bx.toFixed(1)}" y2="${base + 4}" stroke="#444"/>\n`;
    s += `<text x="${bx.toFixed(1)}" y="${base + 16}" text-anchor="middle" fill="#555">${sec}s</text>\n`;
  }
  s += `<line x1="${LEFT}" y1="${base}" x2="${W - RIGHT}" y2="${base}" stroke="#444"/>\n`;
  // Events: dashed lines, labels staggered so neighbours do not overlap.
  t.events.forEach((e, i) => {
    const ex = x(e.atMs / t.bucketMs);
    if (ex < LEFT || ex > W - RIGHT) return;
    s += `<line x1="${ex.toFixed(1)}" y1="${top}" x2="${ex.toFixed(1)}" y2="${base}" stroke="#888" stroke-dasharray="3,3"/>\n`;
    s += `<text x="${(ex + 3).toFixed(1)}" y="${top + 10 + (i % 4) * 11}" font-size="9" fill="#666">${esc(e.what)}</text>\n`;
  });
  for (const se of SERIES) {
    const pts: string[] = [];
    for (let b = from; b < to; b++) pts.push(`${x(b + 0.5).toFixed(1)},${y(t[se.key][b] ?? 0).toFixed(1)}`);
    s += `<polyline fill="none" stroke="${se.colour}" stroke-width="${se.width}" points="${pts.join(' ')}"/>\n`;
  }
  return s;
}

/** One SVG with a panel per run. */
export function drillChartSvg(panels: ChartPanel[], heading = 'Quorum queue failover drills: messages per 100 ms'): string {
  const H = TOP + panels.length * PANEL_H + 24;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`;
  svg += `<rect width="${W}" height="${H}" fill="white"/>\n`;
  svg += `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(heading)}</text>\n`;
  panels.forEach((p, i) => (svg += panelSvg(p, TOP + i * PANEL_H)));
  let lx = LEFT;
  for (const se of SERIES) {
    svg += `<line x1="${lx}" y1="${H - 12}" x2="${lx + 18}" y2="${H - 12}" stroke="${se.colour}" stroke-width="2"/><text x="${lx + 22}" y="${H - 8}">${se.label}</text>\n`;
    lx += 110;
  }
  svg += `<text x="${lx + 20}" y="${H - 8}" fill="#555">x: seconds since the first fault event; dashed: events</text>\n`;
  return `${svg}</svg>\n`;
}

/** A drill run's saved timeline file: the run's JSON line plus its timeline. */
export interface TimelineFile {
  report: Record<string, unknown>;
  timeline: DrillTimeline;
}

/** The panel title and subtitle of a saved run. */
export function panelOf(f: TimelineFile): ChartPanel {
  const r = f.report;
  const cut = typeof r.cutMs === 'number' && r.cutMs > 0 ? ` ${r.cutMs / 1000} s` : '';
  return {
    title: `${r.broker === 'rabbitmq' ? 'RabbitMQ 3.10' : 'Warren'}: ${String(r.drill)}${cut}, run ${String(r.run ?? 1)}${typeof r.loadAvg1m === 'number' ? ` (machine load ${r.loadAvg1m.toFixed(1)} on ${cpus().length} cores)` : ''}`,
    subtitle: `longest stall: confirms ${String(r.longestConfirmStallMs)} ms, deliveries ${String(r.longestDeliveryStallMs)} ms; confirmed ${String(r.confirmed)}, lost ${String(r.lost)}, duplicated ${String(r.duplicated)}, nacked ${String(r.nacked)}${typeof r.longestWorkloadPauseMs === 'number' ? `; drill process paused up to ${r.longestWorkloadPauseMs} ms` : ''}`,
    timeline: f.timeline,
  };
}

if (require.main === module) {
  const [out, ...inputs] = process.argv.slice(2);
  if (!out || inputs.length === 0) {
    console.error('usage: node dist/bench/drills/drill-chart.js out.svg run.timeline.json [...]');
    process.exit(2);
  }
  writeFileSync(out, drillChartSvg(inputs.map((f) => panelOf(JSON.parse(readFileSync(f, 'utf8')) as TimelineFile))));
  console.log(`wrote ${out}`);
}

// Draws docs/cluster-scaling.svg from bench/results/cluster-forwarding.json (written by
// bench/cluster-forwarding.mjs): left, the measured aggregate msg/s of the scaling runs on this
// machine (all nodes and clients share its CPUs); right, the modelled msg/s of N separate
// hosts, one broker core each, from the CPU per message measured in the same runs.
// Usage: node bench/cluster-chart.mjs [results.json] [out.svg]
import { readFileSync, writeFileSync } from 'node:fs';

const [input = 'bench/results/cluster-forwarding.json', output = 'docs/cluster-scaling.svg'] = process.argv.slice(2);
const r = JSON.parse(readFileSync(input, 'utf8'));
const measured = r.scaling.map((s) => ({ label: s.setup, value: s.receivedPerSec }));
const modelled = r.model.filter((m) => m.hosts !== undefined).map((m) => ({ label: m.setup, value: m.msgsPerSec }));

const W = 900, H = 420, top = 60, bottom = 130, barGap = 14;
const panels = [
  { title: `measured on this machine (${r.cpus} shared CPUs)`, bars: measured, x: 40, w: 380 },
  { title: 'model: separate hosts, one broker core each', bars: modelled, x: 480, w: 400 },
];
/** Label lines of at most about `width` characters, breaking at commas and spaces. */
function wrap(text, width) {
  const lines = [];
  for (const part of text.split(/,\s*/)) {
    let line = '';
    for (const word of part.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(line);
  }
  return lines;
}
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`;
svg += `<rect width="${W}" height="${H}" fill="white"/>\n`;
svg += `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">Warren clustered messaging: 16 B messages/s by number of nodes</text>\n`;
for (const p of panels) {
  const max = Math.max(1, ...p.bars.map((b) => b.value));
  const barW = (p.w - barGap * (p.bars.length + 1)) / Math.max(1, p.bars.length);
  svg += `<text x="${p.x + p.w / 2}" y="${top - 16}" text-anchor="middle" font-size="12">${esc(p.title)}</text>\n`;
  svg += `<line x1="${p.x}" y1="${H - bottom}" x2="${p.x + p.w}" y2="${H - bottom}" stroke="#444"/>\n`;
  p.bars.forEach((b, i) => {
    const h = ((H - bottom - top) * b.value) / max;
    const x = p.x + barGap + i * (barW + barGap);
    const y = H - bottom - h;
    const crossing = /cross/.test(b.label);
    svg += `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${crossing ? '#d98c2b' : '#3a78b5'}"/>\n`;
    svg += `<text x="${(x + barW / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle">${Math.round(b.value / 1000)}k</text>\n`;
    wrap(esc(b.label), 9).forEach((line, j) => {
      svg += `<text x="${(x + barW / 2).toFixed(1)}" y="${H - bottom + 16 + j * 12}" text-anchor="middle" font-size="10">${line}</text>\n`;
    });
  });
}
svg += `<text x="${W / 2}" y="${H - 16}" text-anchor="middle" fill="#555">orange: a share of the traffic crosses nodes. Source: ${esc(input)} (${esc(r.when)}).</text>\n`;
svg += '</svg>\n';
writeFileSync(output, svg);
console.log(`wrote ${output}`);

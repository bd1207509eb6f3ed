import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import type { Better } from './scenarios';

/** One row of the results table: a figure for both brokers. */
export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  better: Better;
  targetAdvantage: number;
  warren: number | null;
  rabbitmq: number | null;
}

/** How much better Warren is: Warren ÷ RabbitMQ when higher is better, RabbitMQ ÷ Warren when lower is. */
export function advantage(r: Row): number | null {
  if (r.warren === null || r.rabbitmq === null || r.warren <= 0 || r.rabbitmq <= 0) return null;
  return r.better === 'higher' ? r.warren / r.rabbitmq : r.rabbitmq / r.warren;
}

function fmt(v: number | null, unit: string): string {
  if (v === null) return '—';
  if (unit === 'ms') return v < 10 ? v.toFixed(3) : v.toFixed(1);
  if (unit === 'bytes' || unit === 'MiB') return Math.round(v).toLocaleString('en-US');
  return Math.round(v).toLocaleString('en-US');
}

/** Machine and software description for the report header. */
export function machineInfo(): string[] {
  const cpu = cpus();
  let rabbit = 'not installed';
  try {
    rabbit = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'rabbitmq-server'], { encoding: 'utf8' }).trim();
    const erl = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'erlang-base'], { encoding: 'utf8' }).trim();
    rabbit += ` (Erlang ${erl})`;
  } catch {
    // Not a Debian system, or RabbitMQ is absent.
  }
  return [
    `- CPU: ${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    `- RAM: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}`,
    `- Node.js ${process.version}; RabbitMQ ${rabbit}`,
  ];
}

/** The Markdown results table. */
export function markdownTable(rows: Row[]): string {
  const lines = [
    '| scenario | figure | Warren | RabbitMQ | Warren/RabbitMQ | Warren advantage | target | met |',
    '|---|---|--:|--:|--:|--:|--:|:-:|',
  ];
  for (const r of rows) {
    const ratio = r.warren !== null && r.rabbitmq !== null && r.rabbitmq > 0 ? (r.warren / r.rabbitmq).toFixed(2) : '—';
    const adv = advantage(r);
    const target = r.targetAdvantage > 0 ? `≥ ${r.targetAdvantage}×` : '—';
    const met = adv === null || r.targetAdvantage === 0 ? '' : adv >= r.targetAdvantage ? 'yes' : '**no**';
    lines.push(
      `| ${r.scenario} | ${r.metric} (${r.unit}, ${r.better} is better) | ${fmt(r.warren, r.unit)} | ${fmt(r.rabbitmq, r.unit)} | ${ratio} | ${adv === null ? '—' : adv.toFixed(2) + '×'} | ${target} | ${met} |`,
    );
  }
  return lines.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A horizontal bar chart of Warren's advantage per row (1 = parity; right of the line is
 * better than RabbitMQ), on a log scale so that 0.5× and 2× sit equally far from parity.
 */
export function svgChart(rows: Row[], title: string): string {
  const data = rows.map((r) => ({ label: `${r.scenario} · ${r.metric}`, adv: advantage(r), target: r.targetAdvantage }));
  const labelW = 330;
  const barW = 420;
  const rowH = 22;
  const top = 50;
  const height = top + data.length * rowH + 40;
  const width = labelW + barW + 80;
  const minLog = Math.log2(1 / 8);
  const maxLog = Math.log2(8);
  const x = (v: number) => labelW + ((Math.min(maxLog, Math.max(minLog, Math.log2(v))) - minLog) / (maxLog - minLog)) * barW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">Warren's advantage over RabbitMQ (log scale; right of 1× is better; ticks mark the targets)</text>`,
  ];
  for (const t of [0.125, 0.25, 0.5, 1, 2, 4, 8]) {
    out.push(`<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${top + data.length * rowH}" stroke="${t === 1 ? '#000' : '#ddd'}"/>`);
    out.push(`<text x="${x(t)}" y="${top + data.length * rowH + 16}" text-anchor="middle" fill="#555">${t < 1 ? `1/${1 / t}` : t}×</text>`);
  }
  data.forEach((d, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(d.label)}</text>`);
    if (d.adv === null) {
      out.push(`<text x="${x(1) + 6}" y="${y + 15}" fill="#999">n/a</text>`);
      return;
    }
    const x0 = x(1);
    const x1 = x(d.adv);
    const good = d.target > 0 ? d.adv >= d.target : d.adv >= 1;
    out.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${good ? '#2e8b57' : '#d9534f'}"/>`);
    if (d.target > 0) out.push(`<line x1="${x(d.target)}" y1="${y + 2}" x2="${x(d.target)}" y2="${y + rowH - 2}" stroke="#333" stroke-width="2"/>`);
    out.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 15}">${d.adv.toFixed(2)}×</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

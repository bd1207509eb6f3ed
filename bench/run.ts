import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { rabbitMqInstalled, startRabbitMq, startWarren, type BrokerUnderTest } from './brokers';
import { emptyQueues, idleConnections, queuedMessages, type MemoryResult, type MemorySizes } from './memory';
import { machineInfo, markdownTable, svgChart, type Row } from './report';
import { SCENARIOS, runWarrenPerf, type BenchSettings } from './scenarios';

/**
 * The side-by-side benchmark: Warren and (when installed) RabbitMQ 3.10, the same
 * warren-perf scenarios against both, alternating which goes first, then memory per
 * connection, queue and message on fresh brokers; writes docs/BENCHMARKS.md,
 * docs/bench-chart.svg and bench/results/latest.json.
 *
 *   node dist/bench/run.js [--quick] [--no-rabbitmq] [--only ID,ID] [--no-memory] [--duration SEC] [--workers N]
 *   node dist/bench/run.js --report-only   (rewrites the docs from bench/results/latest.json and bench/notes.md)
 */

const ROOT = resolve(__dirname, '../..');

interface Args {
  quick: boolean;
  rabbitmq: boolean;
  memory: boolean;
  only: string[] | null;
  settings: BenchSettings;
  sizes: MemorySizes;
  write: boolean;
}

function parse(argv: string[]): Args {
  const quick = argv.includes('--quick');
  const a: Args = {
    quick,
    rabbitmq: !argv.includes('--no-rabbitmq'),
    memory: !argv.includes('--no-memory'),
    only: null,
    settings: { durationSec: quick ? 3 : 8, workers: 2 },
    sizes: quick ? { connections: 1000, queues: 10_000, messages: 200_000 } : { connections: 10_000, queues: 100_000, messages: 1_000_000 },
    write: !argv.includes('--no-write'),
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') a.only = argv[++i].split(',');
    if (argv[i] === '--duration') a.settings.durationSec = Number(argv[++i]);
    if (argv[i] === '--workers') a.settings.workers = Number(argv[++i]);
  }
  return a;
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

type Name = 'Warren' | 'RabbitMQ';

async function throughputScenarios(args: Args, brokers: BrokerUnderTest[], rows: Row[], raw: Record<string, unknown>): Promise<void> {
  const fillSent = new Map<Name, { sent: number; tag: string }>();
  let order = 0;
  for (const sc of SCENARIOS) {
    if (args.only && !args.only.includes(sc.id)) continue;
    const values = new Map<Name, Record<string, number>>();
    // Alternate who goes first so slow drift (thermal, page cache) does not favour one broker.
    const turn = order++ % 2 === 0 ? brokers : [...brokers].reverse();
    for (const b of turn) {
      const tag = `${sc.id}-${b.name}-${Date.now()}`;
      let perfArgs = sc.args(args.settings, tag);
      if (sc.id === 'consume-only-16') {
        const fill = fillSent.get(b.name);
        if (!fill) continue;
        perfArgs = perfArgs.map((x) => (x === 'DRAIN' ? String(fill.sent) : x.replace('FILLTAG', fill.tag)));
      }
      log(`${sc.id} on ${b.name}: warren-perf ${perfArgs.join(' ')}`);
      try {
        const r = await runWarrenPerf(b.url, perfArgs, (args.settings.durationSec * 6 + 60) * 1000);
        if (sc.id === 'publish-only-16') fillSent.set(b.name, { sent: r.sent, tag });
        values.set(b.name, sc.figures(r));
        raw[`${sc.id}/${b.name}`] = r;
        log(`  ${JSON.stringify(sc.figures(r))}`);
      } catch (err) {
        log(`  failed: ${(err as Error).message}`);
        raw[`${sc.id}/${b.name}`] = { error: (err as Error).message };
      }
    }
    for (const m of sc.metrics) {
      rows.push({
        scenario: sc.title,
        ...m,
        warren: values.get('Warren')?.[m.metric] ?? null,
        rabbitmq: values.get('RabbitMQ')?.[m.metric] ?? null,
      });
    }
  }
}

async function withFresh<T>(name: Name, fn: (b: BrokerUnderTest) => Promise<T>): Promise<T> {
  const b = name === 'Warren' ? await startWarren() : await startRabbitMq();
  try {
    return await fn(b);
  } finally {
    await b.stop();
  }
}

async function memoryScenarios(args: Args, names: Name[], rows: Row[], raw: Record<string, unknown>): Promise<void> {
  const kinds: { id: string; title: string; n: number; run: (b: BrokerUnderTest, n: number) => Promise<MemoryResult> }[] = [
    { id: 'connections', title: `memory: ${args.sizes.connections.toLocaleString('en-US')} idle connections`, n: args.sizes.connections, run: idleConnections },
    { id: 'queues', title: `memory: ${args.sizes.queues.toLocaleString('en-US')} empty queues`, n: args.sizes.queues, run: emptyQueues },
    { id: 'messages', title: `memory: ${args.sizes.messages.toLocaleString('en-US')} queued 16 B messages`, n: args.sizes.messages, run: queuedMessages },
  ];
  const idle = new Map<Name, number>();
  for (const k of kinds) {
    if (args.only && !args.only.includes(`memory-${k.id}`)) continue;
    const each = new Map<Name, number>();
    for (const name of names) {
      log(`memory-${k.id} on ${name} (n = ${k.n})`);
      try {
        const r = await withFresh(name, (b) => k.run(b, k.n));
        raw[`memory-${k.id}/${name}`] = r;
        each.set(name, r.bytesEach);
        if (!idle.has(name)) idle.set(name, r.idleRssBytes);
        log(`  idle ${(r.idleRssBytes / 2 ** 20).toFixed(1)} MiB, loaded ${(r.loadedRssBytes / 2 ** 20).toFixed(1)} MiB, ${r.bytesEach} B each`);
      } catch (err) {
        log(`  failed: ${(err as Error).message}`);
        raw[`memory-${k.id}/${name}`] = { error: (err as Error).message };
      }
    }
    const per = k.id.replace(/s$/, '');
    rows.push({ scenario: k.title, metric: `bytes per ${per}`, unit: 'bytes', better: 'lower', targetAdvantage: 2, warren: each.get('Warren') ?? null, rabbitmq: each.get('RabbitMQ') ?? null });
  }
  if (idle.size > 0) {
    rows.push({ scenario: 'memory: idle broker', metric: 'RSS', unit: 'MiB', better: 'lower', targetAdvantage: 0, warren: (idle.get('Warren') ?? 0) / 2 ** 20 || null, rabbitmq: (idle.get('RabbitMQ') ?? 0) / 2 ** 20 || null });
  }
}

function writeReport(args: Args, rows: Row[], raw: Record<string, unknown>, startedAt: Date, minutes: number): void {
  const date = startedAt.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const md = [
    '# Benchmarks: Warren vs RabbitMQ',
    '',
    `Generated by \`node dist/bench/run.js${args.quick ? ' --quick' : ''}\` on ${date}${minutes > 0 ? ` (${minutes.toFixed(1)} min)` : ''}. See bench/README.md for how the`,
    'figures are obtained. Both brokers ran on the same machine as the load generator (warren-perf), one',
    `scenario at a time, alternating which broker goes first; ${args.settings.durationSec} s per throughput scenario,`,
    `warren-perf with ${args.settings.workers > 0 ? `${args.settings.workers} worker threads` : 'one thread'} for throughput and one thread for latency.`,
    '',
    ...machineInfo(),
    '',
    '"Warren advantage" is Warren ÷ RabbitMQ for throughput and RabbitMQ ÷ Warren for latency and memory,',
    'so above 1× means Warren is better; targets are those of issue 3.',
    '',
    markdownTable(rows),
    '',
    '![Warren advantage over RabbitMQ](bench-chart.svg)',
    '',
    'Raw results of this run: bench/results/latest.json.',
    '',
  ].join('\n') + notes();
  mkdirSync(resolve(ROOT, 'docs'), { recursive: true });
  mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(resolve(ROOT, 'docs/BENCHMARKS.md'), md);
  writeFileSync(resolve(ROOT, 'docs/bench-chart.svg'), svgChart(rows, `Warren vs RabbitMQ 3.10 — ${date}`));
  writeFileSync(resolve(ROOT, 'bench/results/latest.json'), JSON.stringify({ date, minutes, args, rows, raw }, null, 2) + '\n');
  log('wrote docs/BENCHMARKS.md, docs/bench-chart.svg, bench/results/latest.json');
}

/** The hand-written analysis (caveats, profile) appended to the generated report. */
function notes(): string {
  const path = resolve(ROOT, 'bench/notes.md');
  return existsSync(path) ? '\n' + readFileSync(path, 'utf8') : '';
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (process.argv.includes('--report-only')) {
    const saved = JSON.parse(readFileSync(resolve(ROOT, 'bench/results/latest.json'), 'utf8')) as { date: string; args: Args; rows: Row[]; raw: Record<string, unknown>; minutes?: number };
    writeReport(saved.args, saved.rows, saved.raw, new Date(saved.date.replace(' UTC', 'Z').replace(' ', 'T')), saved.minutes ?? 0);
    return;
  }
  const startedAt = new Date();
  const names: Name[] = ['Warren'];
  if (args.rabbitmq && rabbitMqInstalled()) names.push('RabbitMQ');
  else log('RabbitMQ not used (not installed or --no-rabbitmq): Warren figures only');
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const brokers: BrokerUnderTest[] = [];
  try {
    for (const n of names) brokers.push(n === 'Warren' ? await startWarren() : await startRabbitMq());
    await throughputScenarios(args, brokers, rows, raw);
  } finally {
    for (const b of brokers) await b.stop().catch((err: Error) => log(`stopping ${b.name}: ${err.message}`));
  }
  if (args.memory) await memoryScenarios(args, names, rows, raw);
  const minutes = (Date.now() - startedAt.getTime()) / 60_000;
  console.log(markdownTable(rows));
  if (args.write) writeReport(args, rows, raw, startedAt, minutes);
}

main().catch((err: Error) => {
  log(`failed: ${err.stack ?? err.message}`);
  process.exit(1);
});

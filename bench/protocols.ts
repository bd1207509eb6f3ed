import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort, rabbitMqInstalled, rssBytes, startRabbitMq, startWarren, DEFAULT_RABBIT_PORTS, type BrokerUnderTest } from './brokers';
import { idleMqttConnections, idleStompConnections, mqttThroughput, stompThroughput } from './protocol-load';

/**
 * MQTT and STOMP side by side: Warren and (when installed) RabbitMQ 3.10 with its
 * rabbitmq_mqtt and rabbitmq_stomp plugins, in one run. Throughput of one publisher → one
 * subscriber (MQTT QoS 0, QoS 1, STOMP), then memory per idle MQTT and STOMP connection.
 *
 *   node dist/bench/protocols.js [--no-rabbitmq] [--duration SEC] [--connections N]
 *
 * Prints a markdown table and writes bench/results/protocols-latest.json.
 */

const ROOT = resolve(__dirname, '../..');
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

interface Target {
  name: 'Warren' | 'RabbitMQ';
  broker: BrokerUnderTest;
  mqttPort: number;
  stompPort: number;
}

async function startTargets(withRabbit: boolean): Promise<Target[]> {
  const targets: Target[] = [];
  const w = { mqtt: await freePort(), stomp: await freePort() };
  const warren = await startWarren([], { WARREN_MQTT_PORT: String(w.mqtt), WARREN_STOMP_PORT: String(w.stomp), WARREN_WEB_STOMP_PORT: '0', WARREN_WEB_MQTT_PORT: '0' });
  targets.push({ name: 'Warren', broker: warren, mqttPort: w.mqtt, stompPort: w.stomp });
  if (withRabbit && rabbitMqInstalled()) {
    const r = { mqtt: await freePort(), stomp: await freePort() };
    const rabbit = await startRabbitMq(DEFAULT_RABBIT_PORTS, {
      plugins: ['rabbitmq_mqtt', 'rabbitmq_stomp'],
      conf: [`mqtt.listeners.tcp.default = 127.0.0.1:${r.mqtt}`, `stomp.listeners.tcp.default = 127.0.0.1:${r.stomp}`],
    }).catch(async (err) => {
      await warren.stop();
      throw err;
    });
    // The plugins' listeners start a little after AMQP's.
    for (let i = 0; i < 100; i++) {
      try {
        await idleMqttConnections(r.mqtt, 1).then((s) => s.forEach((x) => x.destroy()));
        break;
      } catch {
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    targets.push({ name: 'RabbitMQ', broker: rabbit, mqttPort: r.mqtt, stompPort: r.stomp });
  }
  return targets;
}

async function withTargets(withRabbit: boolean, body: (targets: Target[]) => Promise<void>): Promise<void> {
  const targets = await startTargets(withRabbit);
  try {
    await body(targets);
  } finally {
    for (const t of targets) await t.broker.stop().catch((err) => log(`stop ${t.name}: ${(err as Error).message}`));
  }
}

async function measure(into: Record<string, number>, t: Target, name: string, run: () => Promise<number>): Promise<void> {
  log(`${name} on ${t.name}`);
  try {
    into[t.name] = await run();
  } catch (err) {
    log(`  failed: ${(err as Error).message}`);
    into[t.name] = NaN;
  }
  log(`  ${into[t.name]}`);
}

async function memoryPerConnection(t: Target, kind: 'mqtt' | 'stomp', count: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssBytes(t.broker.pid());
  const sockets = kind === 'mqtt' ? await idleMqttConnections(t.mqttPort, count) : await idleStompConnections(t.stompPort, count);
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssBytes(t.broker.pid());
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 1000));
  return Math.round((after - before) / count);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const durationMs = (argv.includes('--duration') ? Number(argv[argv.indexOf('--duration') + 1]) : 5) * 1000;
  const connections = argv.includes('--connections') ? Number(argv[argv.indexOf('--connections') + 1]) : 10_000;
  const withRabbit = !argv.includes('--no-rabbitmq');
  const results: Record<string, Record<string, number>> = {};
  let names: string[] = [];
  // Throughput on one pair of brokers, alternating who goes first.
  await withTargets(withRabbit, async (targets) => {
    names = targets.map((t) => t.name);
    const scenarios: [string, (t: Target) => Promise<number>][] = [
      ['MQTT QoS 0 pub→sub (msg/s)', async (t) => (await mqttThroughput(t.mqttPort, 0, durationMs)).msgsPerSec],
      ['MQTT QoS 1 pub→sub (msg/s)', async (t) => (await mqttThroughput(t.mqttPort, 1, durationMs)).msgsPerSec],
      ['STOMP SEND→MESSAGE (msg/s)', async (t) => (await stompThroughput(t.stompPort, durationMs)).msgsPerSec],
    ];
    let order = 0;
    for (const [name, run] of scenarios) {
      results[name] = {};
      for (const t of order++ % 2 === 0 ? targets : [...targets].reverse()) await measure(results[name], t, name, () => run(t));
    }
  });
  // Memory on fresh brokers, one load each.
  for (const kind of ['mqtt', 'stomp'] as const) {
    const name = `${kind === 'mqtt' ? 'MQTT' : 'STOMP'} idle connection, ${connections} (bytes RSS each)`;
    results[name] = {};
    await withTargets(withRabbit, async (targets) => {
      for (const t of targets) await measure(results[name], t, name, () => memoryPerConnection(t, kind, connections));
    });
  }
  const lines = [`| scenario | ${names.join(' | ')}${names.length > 1 ? ' | Warren / RabbitMQ' : ''} |`, `|---|${names.map(() => '---:').join('|')}${names.length > 1 ? '|---:' : ''}|`];
  for (const [name, byBroker] of Object.entries(results)) {
    const cells = names.map((n) => (Number.isFinite(byBroker[n]) ? byBroker[n].toLocaleString('en-US') : 'failed'));
    const ratio = names.length > 1 && byBroker.RabbitMQ ? ` | ${(byBroker.Warren / byBroker.RabbitMQ).toFixed(2)}` : '';
    lines.push(`| ${name} | ${cells.join(' | ')}${ratio} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(resolve(ROOT, 'bench/results/protocols-latest.json'), JSON.stringify({ at: new Date().toISOString(), durationMs, connections, results }, null, 2) + '\n');
}

main().catch((err) => {
  log(`failed: ${(err as Error).stack}`);
  process.exit(1);
});

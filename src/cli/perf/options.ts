import { availableParallelism } from 'node:os';

/** Everything a warren-perf run is configured by; flags follow RabbitMQ's PerfTest where it has one. */
export interface PerfOptions {
  /** amqp://user:pass@host:port/vhost */
  uri: string;
  /** -x: producer connections. */
  producers: number;
  /** -y: consumer connections. */
  consumers: number;
  /** -s: body size in bytes; bodies of 8 bytes or more carry a send timestamp in their first 8 bytes. */
  bodyBytes: number;
  /** -z: run time in seconds; 0 = until every producer and consumer reached its message count. */
  durationSec: number;
  /** -c: publisher confirms with at most this many unconfirmed messages per producer; 0 = no confirms. */
  confirm: number;
  /** -q: consumer prefetch (basic.qos); 0 = unlimited. */
  prefetch: number;
  /** -a: consume with no-ack (autoack). */
  autoAck: boolean;
  /** -u: queue name, or the prefix of the queue names with --queues. */
  queue: string;
  /** -e: exchange; '' is the default exchange (routing by queue name). */
  exchange: string;
  /** -t: exchange type when the exchange is declared. */
  exchangeType: string;
  /** -k: routing key; default the producer's queue name. */
  routingKey: string | null;
  /** -f persistent: delivery-mode 2, and durable queues. */
  persistent: boolean;
  /** -r: publishing rate limit per producer, msgs/s; 0 = unlimited. */
  rate: number;
  /** -C: messages per producer; 0 = unlimited. */
  producerMessages: number;
  /** -D: messages per consumer; 0 = unlimited. */
  consumerMessages: number;
  /** --queues: number of queues producers and consumers are spread over. */
  queues: number;
  /** --workers: worker threads to run producers and consumers in; 0 = all in the main thread. */
  workers: number;
  /** --json: one machine-readable result line on stdout at the end; per-second lines go to stderr. */
  json: boolean;
  /** --delete: delete the queues (and a declared exchange) at the end. */
  deleteAtEnd: boolean;
  /** --predeclared: do not declare anything. */
  predeclared: boolean;
  /** -i: seconds between progress lines. */
  intervalSec: number;
}

/** Defaults, chosen like PerfTest's where it makes sense. */
export function defaultOptions(): PerfOptions {
  return {
    uri: 'amqp://guest:guest@127.0.0.1:5672/',
    producers: 1,
    consumers: 1,
    bodyBytes: 12,
    durationSec: 0,
    confirm: 0,
    prefetch: 0,
    autoAck: false,
    queue: 'warren-perf',
    exchange: '',
    exchangeType: 'direct',
    routingKey: null,
    persistent: false,
    rate: 0,
    producerMessages: 0,
    consumerMessages: 0,
    queues: 1,
    workers: 0,
    json: false,
    deleteAtEnd: false,
    predeclared: false,
    intervalSec: 1,
  };
}

export const USAGE = `usage: warren-perf [options]
  --uri URI            amqp://user:pass@host:port/vhost (default amqp://guest:guest@127.0.0.1:5672/)
  -x, --producers N    producers (1)           -y, --consumers N   consumers (1)
  -s, --size BYTES     body size (12)          -z, --time SEC      duration (until -C/-D are reached)
  -c, --confirm N      confirms, max N unconfirmed per producer
  -q, --qos N          consumer prefetch       -a, --autoack       consume with no-ack
  -u, --queue NAME     queue (warren-perf)     -e, --exchange NAME exchange (default exchange)
  -t, --type TYPE      exchange type (direct)  -k, --routing-key K routing key (the queue name)
  -f, --flag persistent  persistent messages, durable queues
  -r, --rate N         msgs/s per producer     -C, --pmessages N   messages per producer
  -D, --cmessages N    messages per consumer   --queues N          spread over N queues
  --workers [N]        run producers and consumers in N worker threads (default: CPU count)
  -i, --interval SEC   progress interval (1)   --json              one JSON result line on stdout
  --delete             delete queues at the end  --predeclared     declare nothing`;

/** Thrown for a bad command line; the message is meant for the user. */
export class UsageError extends Error {}

function intArg(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} needs a non-negative number`);
  return n;
}

/** Parses argv (without node and script) into options; throws UsageError on anything unknown. */
export function parseArgs(argv: readonly string[]): PerfOptions {
  const o = defaultOptions();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => argv[++i];
    switch (flag) {
      case '--uri': case '-h': o.uri = next() ?? o.uri; break;
      case '-x': case '--producers': o.producers = intArg(flag, next()); break;
      case '-y': case '--consumers': o.consumers = intArg(flag, next()); break;
      case '-s': case '--size': o.bodyBytes = intArg(flag, next()); break;
      case '-z': case '--time': o.durationSec = intArg(flag, next()); break;
      case '-c': case '--confirm': o.confirm = intArg(flag, next()); break;
      case '-q': case '--qos': o.prefetch = intArg(flag, next()); break;
      case '-a': case '--autoack': o.autoAck = true; break;
      case '-u': case '--queue': o.queue = next() ?? o.queue; break;
      case '-e': case '--exchange': o.exchange = next() ?? ''; break;
      case '-t': case '--type': o.exchangeType = next() ?? 'direct'; break;
      case '-k': case '--routing-key': o.routingKey = next() ?? null; break;
      case '-f': case '--flag': {
        const v = next();
        if (v !== 'persistent') throw new UsageError(`-f supports only 'persistent', not '${v}'`);
        o.persistent = true;
        break;
      }
      case '-r': case '--rate': o.rate = intArg(flag, next()); break;
      case '-C': case '--pmessages': o.producerMessages = intArg(flag, next()); break;
      case '-D': case '--cmessages': o.consumerMessages = intArg(flag, next()); break;
      case '--queues': o.queues = Math.max(1, intArg(flag, next())); break;
      case '--workers': {
        const v = argv[i + 1];
        if (v !== undefined && /^\d+$/.test(v)) o.workers = intArg(flag, next());
        else o.workers = availableParallelism();
        break;
      }
      case '-i': case '--interval': o.intervalSec = Math.max(0.1, intArg(flag, next())); break;
      case '--json': o.json = true; break;
      case '--delete': o.deleteAtEnd = true; break;
      case '--predeclared': o.predeclared = true; break;
      case '--help': throw new UsageError(USAGE);
      default: throw new UsageError(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if (o.durationSec === 0 && (o.producers > 0 && o.producerMessages === 0 || o.consumers > 0 && o.consumerMessages === 0)) {
    throw new UsageError('give a duration (-z) or message counts (-C for producers, -D for consumers)');
  }
  return o;
}

/** Queue names in use: the -u name, or name-1 … name-N with --queues N. */
export function queueNames(o: PerfOptions): string[] {
  if (o.queues <= 1) return [o.queue];
  const names: string[] = [];
  for (let i = 1; i <= o.queues; i++) names.push(`${o.queue}-${i}`);
  return names;
}

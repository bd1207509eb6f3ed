import { Consumer } from './consumer';
import type { PerfOptions } from './options';
import { Producer } from './producer';
import { ThreadStats } from './thread-stats';
import { consumerQueue, producerRoutingKey } from './topology';

/** Which producer or consumer a thread runs (index among all producers or all consumers). */
export interface RoleSpec {
  kind: 'producer' | 'consumer';
  index: number;
}

/** What a group reports: cumulative counters plus the latencies recorded since the previous snapshot. */
export interface GroupSnapshot {
  sent: number;
  confirmed: number;
  nacked: number;
  received: number;
  latencyCounts: Uint32Array;
  latencyMaxUs: number;
  /** True when every role reached its message count. */
  done: boolean;
  /** When the last role finished, epoch ms (0 if not done). */
  doneAtMs: number;
  error: string | null;
}

/** The asynchronous surface the runner drives, in this thread (RoleGroup) or in a worker (WorkerGroup). */
export interface Group {
  setup(): Promise<void>;
  start(): Promise<void>;
  snapshot(): Promise<GroupSnapshot>;
  /** Stops publishing and counting, and returns the final snapshot. */
  stop(): Promise<GroupSnapshot>;
  close(): Promise<void>;
}

/** Producers and consumers running on this thread, sharing one ThreadStats. */
export class RoleGroup implements Group {
  private readonly stats = new ThreadStats();
  private readonly producers: Producer[] = [];
  private readonly consumers: Consumer[] = [];

  constructor(opts: PerfOptions, specs: readonly RoleSpec[]) {
    for (const s of specs) {
      if (s.kind === 'producer') {
        this.producers.push(new Producer(opts, producerRoutingKey(opts, s.index), this.stats, `warren-perf-producer-${s.index}`));
      } else {
        this.consumers.push(new Consumer(opts, consumerQueue(opts, s.index), this.stats, `warren-perf-consumer-${s.index}`));
      }
    }
  }

  async setup(): Promise<void> {
    await Promise.all([...this.consumers.map((c) => c.setup()), ...this.producers.map((p) => p.setup())]);
  }

  async start(): Promise<void> {
    for (const c of this.consumers) c.start();
    for (const p of this.producers) p.start();
  }

  async snapshot(): Promise<GroupSnapshot> {
    const s = this.stats;
    const roles = [...this.producers, ...this.consumers];
    const done = roles.every((r) => r.done);
    const snap: GroupSnapshot = {
      sent: s.sent,
      confirmed: s.confirmed,
      nacked: s.nacked,
      received: s.received,
      latencyCounts: s.latency.counts.slice(),
      latencyMaxUs: s.latency.maxUs,
      done,
      doneAtMs: done ? Math.max(0, ...roles.map((r) => r.doneAtMs)) : 0,
      error: s.error,
    };
    s.latency.reset();
    return snap;
  }

  async stop(): Promise<GroupSnapshot> {
    for (const p of this.producers) p.stop();
    for (const c of this.consumers) c.stop();
    return this.snapshot();
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.map((p) => p.close()), ...this.consumers.map((c) => c.close())]);
  }
}

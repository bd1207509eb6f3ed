import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PerfOptions } from './options';
import type { Group, GroupSnapshot, RoleSpec } from './role-group';

/** A RoleGroup running in a worker thread (worker.ts), driven by request/reply messages. */
export class WorkerGroup implements Group {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { ok(v: unknown): void; fail(e: Error): void }>();

  constructor(opts: PerfOptions, specs: RoleSpec[]) {
    this.worker = new Worker(join(__dirname, 'worker.js'), { workerData: { opts, specs } });
    this.worker.on('message', (m: { id: number; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.fail(new Error(m.error));
      else p.ok(m.value);
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`perf worker exited with code ${code}`)));
  }

  private call<T>(op: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((ok, fail) => {
      this.pending.set(id, { ok: ok as (v: unknown) => void, fail });
      this.worker.postMessage({ id, op });
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.fail(err);
    this.pending.clear();
  }

  setup(): Promise<void> {
    return this.call('setup');
  }

  start(): Promise<void> {
    return this.call('start');
  }

  snapshot(): Promise<GroupSnapshot> {
    return this.call('snapshot');
  }

  stop(): Promise<GroupSnapshot> {
    return this.call('stop');
  }

  async close(): Promise<void> {
    try {
      await this.call('close');
    } finally {
      await this.worker.terminate();
    }
  }
}

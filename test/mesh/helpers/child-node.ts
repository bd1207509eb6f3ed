/** Test helpers: mesh nodes in child processes, and waiting for mesh events. */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { resolve } from 'node:path';
import { Mesh, type MeshOptions } from '../../../cluster/mesh/mesh';
import { logger } from '../../../src/log/logger';

/** Mesh logs in tests: errors only, unless WARREN_LOG_LEVEL asks for more. */
export const testLogger = logger.child({}, { level: process.env.WARREN_LOG_LEVEL ?? 'error' });

const CHILD_JS = resolve(__dirname, 'mesh-child.js');

export interface ChildEvent {
  event: 'nodeup' | 'nodedown' | 'ready';
  name?: string;
  reason?: string;
  port?: number;
}

export interface PeerSpec {
  name: string;
  host: string;
  port: number;
}

/** One mesh node in a child process, serving the channels described in mesh-child.ts. */
export class ChildNode extends EventEmitter {
  child: ChildProcess | undefined;
  /** Every event the child reported, in order. */
  readonly events: ChildEvent[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { ok(v: unknown): void; fail(e: Error): void }>();
  private stderr = '';

  constructor(
    readonly name: string,
    readonly port: number,
    readonly secret: string,
    readonly tickMs: number,
    private peers: PeerSpec[] = [],
  ) {
    super();
  }

  get spec(): PeerSpec {
    return { name: this.name, host: '127.0.0.1', port: this.port };
  }

  /** Forks the child and waits until its server listens. */
  async start(peers: PeerSpec[] = this.peers): Promise<void> {
    this.peers = peers;
    const child = fork(CHILD_JS, [], {
      env: {
        ...process.env,
        MESH_NODE: this.name,
        MESH_PORT: String(this.port),
        MESH_SECRET: this.secret,
        MESH_TICK_MS: String(this.tickMs),
        MESH_PEERS: JSON.stringify(peers),
        WARREN_LOG_LEVEL: process.env.WARREN_LOG_LEVEL ?? 'error',
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('message', (m: ChildEvent & { reply?: number; result?: unknown; error?: { message: string; code?: string } }) => {
      if (m.reply !== undefined) {
        const w = this.waiting.get(m.reply);
        this.waiting.delete(m.reply);
        if (m.error) w?.fail(Object.assign(new Error(m.error.message), { code: m.error.code }));
        else w?.ok(m.result);
        return;
      }
      this.events.push(m);
      this.emit(m.event, m);
    });
    child.on('exit', () => {
      for (const w of this.waiting.values()) w.fail(new Error(`child ${this.name} exited`));
      this.waiting.clear();
    });
    await withTimeout(once(this, 'ready'), 10_000, `${this.name} ready`);
  }

  call<T = unknown>(cmd: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((ok, fail) => {
      this.waiting.set(id, { ok: ok as (v: unknown) => void, fail });
      this.child!.send({ ...cmd, id });
    });
  }

  /** Sends a signal and, for SIGKILL/SIGTERM, waits for the exit. */
  async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child!;
    if (sig === 'SIGKILL' || sig === 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(sig);
      await exited;
    } else {
      child.kill(sig);
    }
  }

  /** Waits for a reported event about `peer`, counting only events after index `from`. */
  async waitEvent(event: 'nodeup' | 'nodedown', peer: string, timeoutMs: number, from = 0): Promise<ChildEvent> {
    const seen = this.events.slice(from).find((e) => e.event === event && e.name === peer);
    if (seen) return seen;
    return withTimeout(
      new Promise<ChildEvent>((ok) => {
        const on = (e: ChildEvent): void => {
          if (e.name !== peer) return;
          this.off(event, on);
          ok(e);
        };
        this.on(event, on);
      }),
      timeoutMs,
      `${this.name}: ${event} ${peer}`,
    );
  }

  output(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      this.child.kill('SIGCONT');
    } catch {
      // already gone
    }
    await this.signal('SIGKILL');
  }
}

/** Rejects with a message naming `what` when `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 20 ms until it returns true; throws after `ms`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves when `mesh` emits `event` for `peer` (nodeup is immediate if already up). */
export function meshEvent(mesh: Mesh, event: 'nodeup' | 'nodedown', peer: string, timeoutMs: number): Promise<string> {
  if (event === 'nodeup' && mesh.isUp(peer)) return Promise.resolve('');
  return withTimeout(
    new Promise<string>((ok) => {
      const on = (name: string, reason?: string): void => {
        if (name !== peer) return;
        mesh.off(event, on);
        ok(reason ?? '');
      };
      mesh.on(event as 'nodedown', on);
    }),
    timeoutMs,
    `${mesh.nodeName}: ${event} ${peer}`,
  );
}

/** A started in-process mesh node on 127.0.0.1 with a free port and quiet logs. */
export async function startMesh(nodeName: string, opts: Partial<MeshOptions> = {}): Promise<Mesh> {
  const mesh = new Mesh({
    nodeName,
    secret: 'test-secret',
    port: 0,
    host: '127.0.0.1',
    tickMs: 1000,
    backoff: { initialMs: 50, maxMs: 500 },
    logger: testLogger,
    ...opts,
  });
  await mesh.start();
  return mesh;
}

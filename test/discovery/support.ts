// Helpers shared by the discovery tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A free TCP port on this host (never 4369). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.on('error', reject);
      server.listen(0, () => {
        const address = server.address();
        const found = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (port !== 4369) return port;
  }
}

/** True when Erlang's epmd and erl are installed. */
export function erlangAvailable(): boolean {
  return existsSync('/usr/bin/epmd') && existsSync('/usr/bin/erl');
}

/**
 * Runs Erlang's `epmd` client with ERL_EPMD_PORT set; resolves its stdout, also
 * when it exits non-zero (as `epmd -kill` does when refused).
 */
export async function epmdCommand(epmdPort: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('epmd', args, {
      env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) },
      timeout: 5000,
    });
    return stdout;
  } catch (err) {
    const stdout = (err as { stdout?: string }).stdout;
    if (typeof stdout === 'string') return stdout;
    throw err;
  }
}

/** What a raw exchange with a server produced. */
export interface RawExchange {
  received: Buffer;
  /** The server closed (or reset) the connection before the timeout. */
  closed: boolean;
}

/** Sends `chunks` (with `gapMs` between them) and collects the reply until the server closes or `timeoutMs`. */
export function rawExchange(port: number, chunks: Buffer[], opts: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(received), closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 1000);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        clearTimeout(timer);
        settled = true;
        reject(err);
      }
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(probe: () => Promise<T> | T, timeoutMs = 5000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A child process whose output is kept, and which is killed (SIGKILL) by `kill()`. */
export interface Child {
  process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** Spawns a child process, collecting stdout and stderr. */
export function startChild(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    output: () => output,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

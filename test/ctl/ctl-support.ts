// Runs the built warrenctl against a broker's data dir and parses its tab-separated output.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before } from 'node:test';
import { startBroker, isExternalBroker, type BrokerProcess } from '../helpers/broker-process';
import { Clients } from '../helpers/amqp-test';

const WARRENCTL_JS = resolve(__dirname, '../../src/cli/warrenctl.js');

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** warrenctl -d dataDir ARGS..., as a child process (never throws on a non-zero exit). */
export function ctl(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<CtlResult> {
  return new Promise((ok) => {
    execFile(
      process.execPath,
      [WARRENCTL_JS, '-d', dataDir, ...args],
      { env: { ...process.env, WARREN_LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        ok({ code, stdout, stderr });
      },
    );
  });
}

/** Like ctl, but fails with warrenctl's output unless it exits 0. */
export async function ctlOk(dataDir: string, args: string[]): Promise<string> {
  const r = await ctl(dataDir, args);
  if (r.code !== 0) throw new Error(`warrenctl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Runs a list command with -q and returns its rows as objects keyed by the header line. */
export async function ctlRows(dataDir: string, args: string[]): Promise<Record<string, string>[]> {
  const out = await ctlOk(dataDir, ['-q', ...args]);
  const lines = out.split('\n').filter((l) => l !== '');
  const header = lines.shift()?.split('\t') ?? [];
  return lines.map((l) => {
    const cells = l.split('\t');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

/** Why warrenctl tests skip: they need a Warren node of their own, not an external broker. */
export const ctlSkip = isExternalBroker() ? 'warrenctl talks to a Warren node only' : false;

export interface CtlBroker {
  /** The node (only inside tests and hooks: it starts in the before hook). */
  readonly broker: BrokerProcess;
  /** The amqplib clients the tests open, closed after them. */
  readonly clients: Clients;
}

/**
 * One Warren node started before the calling file's (or describe's) tests and stopped after
 * them; `then` runs once it has started, in the same hook (Node 20 runs a file's top-level
 * before hooks concurrently, so a second hook could not count on the node).
 */
export function useCtlBroker(then?: () => Promise<void>): CtlBroker {
  let broker: BrokerProcess | undefined;
  const started = (): BrokerProcess => {
    if (!broker) throw new Error('the warrenctl test broker is used before it started');
    return broker;
  };
  const clients = new Clients(started);
  before(async () => {
    if (ctlSkip) return;
    broker = await startBroker();
    await then?.();
  });
  after(async () => {
    await clients.closeAll();
    await broker?.stop();
  });
  return {
    get broker() {
      return started();
    },
    clients,
  };
}

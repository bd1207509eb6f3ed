// What the Raft tests share (most drive one server by hand): an FSM that keeps the applied
// commands, a transport that captures what the server sends (the test delivers replies
// through `handler`), no ticks, helpers to build entries of a three-server group, and a 5 ms waitFor.
import type { FSM } from '../../cluster/raft/fsm';
import type { Ticker } from '../../cluster/raft/raft-config';
import type { Transport } from '../../cluster/raft/transport';
import type { RaftMessage } from '../../cluster/raft/messages';
import { EntryType, type LogEntry } from '../../cluster/raft/types';

/** Keeps the applied commands (a snapshot is their list). */
export class ListFsm implements FSM<void> {
  applied: string[] = [];
  apply(e: LogEntry): void {
    this.applied.push(e.data.toString());
  }
  snapshot(): Buffer {
    return Buffer.from(JSON.stringify(this.applied));
  }
  restore(data: Buffer): void {
    this.applied = JSON.parse(data.toString()) as string[];
  }
}

/** Keeps every message the server sends; the test answers through `handler`. */
export class CapturingTransport implements Transport {
  sent: RaftMessage[] = [];
  handler: ((m: RaftMessage) => void) | undefined;
  send(_to: string, msg: RaftMessage): void {
    this.sent.push(msg);
  }
  onMessage(handler: (m: RaftMessage) => void): void {
    this.handler = handler;
  }
  async close(): Promise<void> {}
}

/** No election or heartbeat timers: the test drives every step. */
export const noTicks: Ticker = { add: () => () => undefined };

/** Polls `fn` every 5 ms until it returns something truthy (a group of servers in memory settles fast). */
export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets the server's queued store completions and callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

export const threeServers = { servers: ['n1', 'n2', 'n3'].map((id) => ({ id, address: id, suffrage: 'voter' as const })) };

/** A command entry whose data names it: "index@term". */
export const cmd = (index: number, term: number): LogEntry => ({ index, term, type: EntryType.Command, data: Buffer.from(`${index}@${term}`) });

/** Command entries lo..hi of one term. */
export const range = (lo: number, hi: number, term: number): LogEntry[] => Array.from({ length: hi - lo + 1 }, (_, i) => cmd(lo + i, term));

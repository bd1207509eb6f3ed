/**
 * The process's file-descriptor limit: read from /proc/self/limits, raised from the soft to
 * the hard limit at start (Node has no setrlimit; util-linux's prlimit does it for our pid),
 * and the descriptors in use. Linux only; elsewhere the readings are undefined.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface FdLimit {
  soft: number;
  hard: number;
}

/** Our RLIMIT_NOFILE, or undefined when it cannot be read (Infinity for "unlimited"). */
export function readFdLimit(): FdLimit | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const m = line && /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
    if (!m) return undefined;
    const n = (v: string) => (v === 'unlimited' ? Infinity : Number(v));
    return { soft: n(m[1]), hard: n(m[2]) };
  } catch {
    return undefined;
  }
}

/** Raises the soft limit to the hard one; returns the limit in force afterwards. */
export function raiseFdLimit(): FdLimit | undefined {
  const before = readFdLimit();
  if (!before || before.soft >= before.hard) return before;
  const hard = before.hard === Infinity ? 'unlimited' : String(before.hard);
  try {
    spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // No prlimit: the soft limit stays.
  }
  return readFdLimit() ?? before;
}

/** Descriptors open now, or undefined when they cannot be counted (e.g. none left to list them). */
export function fdsInUse(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/**
 * RabbitMQ-style connection limit from the descriptor limit: what is left after a reserve
 * for message-store segments, logs, the control socket and the management listener.
 */
export function connectionLimitFromFds(limit: FdLimit | undefined): number {
  if (!limit || limit.soft === Infinity) return Infinity;
  const reserve = Math.max(64, Math.floor(limit.soft * 0.1));
  return Math.max(1, limit.soft - reserve);
}

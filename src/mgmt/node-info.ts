/** Figures of this process and host for the node object: exchange types, free disk, file descriptors. */
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import type { Row } from './broker-view';

export function exchangeTypes(): Row[] {
  return [
    { name: 'direct', description: 'AMQP direct exchange, as per the AMQP specification', enabled: true },
    { name: 'fanout', description: 'AMQP fanout exchange, as per the AMQP specification', enabled: true },
    { name: 'headers', description: 'AMQP headers exchange, as per the AMQP specification', enabled: true },
    { name: 'topic', description: 'AMQP topic exchange, as per the AMQP specification', enabled: true },
  ];
}

export function diskFree(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

export function fdCounts(): { used: number; total: number } {
  let used = 0;
  let total = 1024;
  try {
    used = readdirSync('/proc/self/fd').length;
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) total = Number(m[1]);
  } catch {
    // not Linux: counts stay unknown
  }
  return { used, total };
}

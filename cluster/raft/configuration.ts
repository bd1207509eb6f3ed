import { EntryType, decodeConfiguration, findServer, type Configuration, type ServerId, type Server } from './types';
import type { RaftLog } from './raft-log';

/** A single-server membership change, as proposed through the leader. */
export type ConfChange =
  | { type: 'addVoter'; id: ServerId; address: string }
  | { type: 'addNonVoter'; id: ServerId; address: string }
  | { type: 'removeServer'; id: ServerId };

/**
 * The configuration in force at `index`: the last config entry at or below it, else the
 * snapshot's. Scans backwards, so it is only called on truncation, restore and compaction.
 */
export function configurationAt(
  log: RaftLog,
  index: number,
  fallback: { configuration: Configuration; index: number },
): { configuration: Configuration; index: number } {
  for (let i = Math.min(index, log.lastIndex()); i >= log.firstIndex(); i--) {
    const e = log.entry(i);
    if (e && e.type === EntryType.Config) return { configuration: decodeConfiguration(e.data), index: i };
  }
  return fallback;
}

/** Applies one single-server change to a configuration; returns an error text if it is invalid. */
export function changeConfiguration(current: Configuration, change: ConfChange): Configuration | string {
  const servers: Server[] = current.servers.map((s) => ({ ...s }));
  const existing = findServer({ servers }, change.id);
  switch (change.type) {
    case 'addVoter':
      if (existing) {
        existing.suffrage = 'voter';
        existing.address = change.address;
      } else servers.push({ id: change.id, address: change.address, suffrage: 'voter' });
      break;
    case 'addNonVoter':
      // A voter stays a voter: demotion is not a supported change.
      if (existing) existing.address = change.address;
      else servers.push({ id: change.id, address: change.address, suffrage: 'nonvoter' });
      break;
    case 'removeServer':
      if (!existing) return `server ${change.id} is not in the configuration`;
      servers.splice(servers.indexOf(existing), 1);
      if (!servers.some((s) => s.suffrage === 'voter')) return 'cannot remove the last voter';
      break;
  }
  return { servers };
}

import type { NodeEntry } from './epmd-codec';

/** How many unregistered names are remembered, so that a returning name gets a new creation. */
export const MAX_REMEMBERED_NAMES = 1000;

/** A live registration: the entry, its creation, and the connection that holds it. */
export interface Registration<Owner> {
  entry: NodeEntry;
  creation: number;
  owner: Owner;
}

/**
 * The port mapper's name table, without sockets. A name is registered by one
 * owner (the registering connection) and removed when that owner goes away.
 *
 * Creation numbers follow epmd: a node that speaks distribution version 6 gets a
 * 32-bit value seeded from the clock and never below 4; an older node gets 1..3.
 * A name that registers again after leaving gets the next value, so pids and
 * references of its previous life stay distinguishable.
 *
 * Not thread-safe by design: the server calls it from the event loop only.
 */
export class PortMapperRegistry<Owner> {
  // Insertion order = registration order; lists show the newest first, as epmd does.
  private readonly live = new Map<string, Registration<Owner>>();
  private readonly remembered = new Map<string, { entry: NodeEntry; creation: number }>();

  constructor(private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000)) {}

  /** Registers `entry` for `owner`; undefined when the name is already taken. */
  register(entry: NodeEntry, owner: Owner): Registration<Owner> | undefined {
    if (this.live.has(entry.name)) return undefined;
    const previous = this.remembered.get(entry.name);
    this.remembered.delete(entry.name);
    const creation = nextCreation(previous?.creation, entry.highestVersion >= 6, this.nowSeconds());
    const registration = { entry, creation, owner };
    this.live.set(entry.name, registration);
    return registration;
  }

  /** Removes every registration held by `owner` (normally one); returns the names removed. */
  unregisterOwner(owner: Owner): string[] {
    const removed: string[] = [];
    for (const [name, registration] of this.live) {
      if (registration.owner === owner) removed.push(name);
    }
    for (const name of removed) this.unregisterName(name);
    return removed;
  }

  /** Removes `name`; returns its registration, or undefined if it was not registered. */
  unregisterName(name: string): Registration<Owner> | undefined {
    const registration = this.live.get(name);
    if (!registration) return undefined;
    this.live.delete(name);
    this.remembered.set(name, { entry: registration.entry, creation: registration.creation });
    while (this.remembered.size > MAX_REMEMBERED_NAMES) {
      const oldest = this.remembered.keys().next().value as string;
      this.remembered.delete(oldest);
    }
    return registration;
  }

  lookup(name: string): Registration<Owner> | undefined {
    return this.live.get(name);
  }

  /** Live registrations, newest first. */
  list(): Registration<Owner>[] {
    return [...this.live.values()].reverse();
  }

  /** Names that were registered and have left, oldest first (for DUMP). */
  listRemembered(): { entry: NodeEntry; creation: number }[] {
    return [...this.remembered.values()];
  }

  get size(): number {
    return this.live.size;
  }
}

/** The creation for a (re)registering name; `previous` is its last creation, if remembered. */
export function nextCreation(previous: number | undefined, version6: boolean, nowSeconds: number): number {
  if (!version6) {
    // Old nodes only have two bits of creation: cycle through 1..3.
    const base = previous !== undefined && previous >= 1 && previous <= 3 ? previous : nowSeconds % 3;
    return (base % 3) + 1;
  }
  const next = previous === undefined ? nowSeconds >>> 0 : (previous + 1) >>> 0;
  // 0..3 are what old nodes use; a version 6 node never gets them.
  return next < 4 ? 4 : next;
}

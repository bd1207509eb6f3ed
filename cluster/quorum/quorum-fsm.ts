/**
 * A quorum queue's replicated state, applied from its Raft log on every member: the
 * messages not yet settled, by id (ids are assigned in log order, so every member agrees),
 * each with its size, delivery count (failed deliveries so far), the leader's clock when it
 * was enqueued (TTL counts from there on any leader) and the consumer holding it, if any
 * (checkouts: its node and that node's consumer id), so that a new leader holds it for that
 * consumer instead of redelivering it to another.
 *
 * Bodies: with a body store (every real member), a member holds bodies in memory up to
 * `memoryBytes`; later messages are written to the body store and only their place is
 * kept. A snapshot writes every body still only in memory to the store, syncs it and holds
 * places, not bodies, so it stays small however long the queue. A member that installs a
 * snapshot made elsewhere (places on another node's disk) fetches the bodies it lists from
 * a member that has them (`fetch`), writing them to its own store, before it goes on; it
 * keeps a copy of the snapshot with its own places (installed.idx) for its next start.
 * Without a body store (tests), everything is in memory and snapshots carry the bodies.
 */
import type { FSM, LogEntry } from '../raft';
import { crc32 } from '../raft/crc32';
import { ByteReader } from '../../src/protocol/byte-reader';
import { ByteWriter } from '../../src/protocol/byte-writer';
import { floorAt, floorDistance, Message, type EnqueueOrigin } from '../../src/broker/message';
import { NO_PRIORITY, storedPriority } from '../../src/broker/queue/strict-priority-messages';
import { CMD_CHECKOUT, CMD_DEAD, CMD_ENQUEUE, CMD_RETURN, CMD_SETTLE, CMD_WITH, decodeCommand, peekEnqueue, readMessage, readOwnedIds, splitWith, writeMessage, writeOwnedIds } from './quorum-codec';
import { EnqueuerTable, ORIGIN_GAP, ORIGIN_NEW, SECTION_ENQUEUERS } from './enqueuer-table';
import type { BodyPlace, BodyStore } from './body-store';
import { encodeServed, decodeServed, SERVED_BODY, SERVED_GONE } from './body-fetch';

export interface StoredMessage {
  /** The message while its body is held in memory; undefined once it is only in the body store. */
  message: Message | undefined;
  size: number;
  deliveryCount: number;
  /** Where the body store holds it (undefined while only in memory, or for a message settled before it could be fetched). */
  place: BodyPlace | undefined;
  /** The message's own TTL (expiration property) in ms, kept for a body not in memory. */
  expirationMs: number | undefined;
  /** The message's priority property (NO_PRIORITY when absent), kept for a body not in memory. */
  priority: number;
  /** Dead-lettered at least once and waiting for its targets' confirms: the reason (DEATH_REASONS index + 1); 0 otherwise. */
  dead: number;
  /** The leader's clock when the message was enqueued (ms since the epoch); 0 when not logged (older entries). */
  enqueuedAt: number;
  /** The consumer holding it ("node/consumerId", see ownerKey); undefined while ready. */
  owner: string | undefined;
}

/** An enqueue batch as its proposer holds it (origins empty when no message has one). */
export interface LocalBatch {
  readonly messages: readonly Message[];
  readonly origins: readonly (EnqueueOrigin | undefined)[];
}

/** Told of each message the log adds (the leader mirrors them into its live queue). */
export type EnqueueListener = (id: number, message: Message) => void;

export interface QuorumFsmOptions {
  bodies?: BodyStore;
  /** Body bytes a member holds in memory before later bodies go to the body store. */
  memoryBytes?: number;
  /** Body bytes applied after which a snapshot is due whatever the entry count. */
  snapshotBytes?: number;
  /** This node (written into snapshots, to tell its own from installed ones). */
  node?: string;
  /**
   * A snapshot is also due once no entry was applied for this long (ms) after at least
   * IDLE_SNAPSHOT_MIN_BYTES of bodies or IDLE_SNAPSHOT_MIN_ENTRIES entries: an idle queue's
   * log (held in memory until a snapshot) is let go instead of waiting for more traffic.
   * Off when undefined.
   */
  idleSnapshotMs?: number;
  /** The clock for idleSnapshotMs (Date.now unless a test drives it). */
  now?: () => number;
}

/** Body bytes since the last snapshot below which an idle member keeps its log. */
export const IDLE_SNAPSHOT_MIN_BYTES = 256 * 1024;
/** Entries since the last snapshot below which an idle member keeps its log (small bodies). */
export const IDLE_SNAPSHOT_MIN_ENTRIES = 256;

const MAGIC = 0xfe;
const KIND_NONE = 0;
const KIND_INLINE = 1;
const KIND_PLACE = 2;
const PLACE_TTL = 1;
const PLACE_PRIORITY = 2;
/** Optional sections after a snapshot's messages (u8 tag, u32 length, bytes); an older snapshot has none. */
const SECTION_OWNERSHIP = 1;
/** Body bytes asked of another member at once when installing a snapshot. */
const FETCH_CHUNK_BYTES = 4 * 1024 * 1024;
/** Requests for bodies in flight at once. */
const FETCH_PARALLEL = 4;

export class QuorumFsm implements FSM<void> {
  nextId = 1;
  readonly messages = new Map<number, StoredMessage>();
  /** Body bytes of the unsettled messages. */
  bytes = 0;
  /** Body bytes of the unsettled messages held in memory. */
  memoryBytes = 0;
  listener: EnqueueListener | undefined;
  /**
   * Told of each enqueue batch applied (its proposer settles the confirms waiting on it),
   * with the positions in the batch of the messages refused as out of order (enqueuer-table.ts).
   */
  batchApplied: ((batchId: number, refused: number[] | undefined) => void) | undefined;
  /**
   * The batch `batchId` if this member proposed it and still holds its messages: applied
   * from them instead of decoding the entry it has just encoded (the same messages, in
   * new Message objects as decoding makes; every other member, and this one after a
   * restart, decodes).
   */
  localBatch: ((batchId: number) => LocalBatch | undefined) | undefined;
  /** Per-enqueuer numbers, to add a publish sent again after a leader change only once. */
  readonly enqueuers = new EnqueuerTable();
  /** Asks another member for bodies (an encoded id list); set by the group. */
  fetch: ((ids: number[]) => Promise<Buffer>) | undefined;
  /** True while Raft restores the member's own latest snapshot at start (its places are good here). */
  startingUp = false;
  /** True while a restore is fetching bodies (requests for bodies are answered "not yet"). */
  private restoring = false;
  private sinceSnapshot = 0;
  private readonly bodies: BodyStore | undefined;
  private readonly memoryLimit: number;
  private readonly snapshotBytes: number;
  private readonly node: string;
  private readonly idleSnapshotMs: number | undefined;
  private readonly now: () => number;
  private lastApplyMs = 0;
  private entriesSinceSnapshot = 0;

  constructor(o: QuorumFsmOptions = {}) {
    this.bodies = o.bodies;
    this.memoryLimit = o.bodies ? (o.memoryBytes ?? 8 * 1024 * 1024) : Infinity;
    this.snapshotBytes = o.snapshotBytes ?? Infinity;
    this.node = o.node ?? '';
    this.idleSnapshotMs = o.idleSnapshotMs;
    this.now = o.now ?? Date.now;
  }

  apply(entry: LogEntry): void {
    if (this.idleSnapshotMs !== undefined) {
      this.lastApplyMs = this.now();
      this.entriesSinceSnapshot++;
    }
    this.enqueuers.prune(entry.index);
    const data = entry.data;
    if (data[0] === CMD_WITH) {
      for (const part of splitWith(data)) this.applyCommand(part, entry.index);
      return;
    }
    this.applyCommand(data, entry.index);
  }

  private applyCommand(data: Buffer, index: number): void {
    const head = peekEnqueue(data);
    if (head) return this.applyEnqueue(data, head.batchId, head.atMs, head.count, index);
    const c = decodeCommand(data);
    if (c.cmd === CMD_CHECKOUT) {
      for (const { owner, ids } of c.owners) {
        for (const id of ids) {
          const m = this.messages.get(id);
          if (m && m.dead === 0) m.owner = owner;
        }
      }
      return;
    }
    if (c.cmd === CMD_ENQUEUE) return;
    for (const id of c.ids) {
      const m = this.messages.get(id);
      if (!m) continue;
      if (c.cmd === CMD_DEAD) {
        m.dead = c.reason;
        m.owner = undefined;
      } else if (c.cmd === CMD_RETURN) {
        m.deliveryCount++;
        m.owner = undefined;
      } else if (c.cmd === CMD_SETTLE) this.remove(id, m);
    }
  }

  private applyEnqueue(data: Buffer, batchId: number, atMs: number, count: number, index: number): void {
    const local = this.localBatch?.(batchId);
    let messages: readonly Message[];
    let origins: readonly (EnqueueOrigin | undefined)[] | undefined;
    let copy = false;
    if (local && local.messages.length === count) {
      messages = local.messages;
      origins = local.origins.length > 0 ? local.origins : undefined;
      copy = true;
    } else {
      const c = decodeCommand(data);
      if (c.cmd !== CMD_ENQUEUE) return;
      messages = c.messages;
      origins = c.origins;
    }
    let refused: number[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      let message = messages[i];
      let origin = origins?.[i];
      if (origin) {
        // As the entry carries it: a floor too far below is logged as none (floorAt 0).
        if (copy) {
          const floor = floorAt(origin.seq, floorDistance(origin));
          if (floor !== origin.floor) origin = { enqueuer: origin.enqueuer, seq: origin.seq, floor };
        }
        const verdict = this.enqueuers.admit(origin, index);
        if (verdict === ORIGIN_GAP) (refused ??= []).push(i);
        if (verdict !== ORIGIN_NEW) continue;
      }
      // The proposer's message may be routed to other queues too: this queue's own object, sharing the bytes.
      if (copy) message = new Message(message.exchange, message.routingKey, message.rawProperties, message.body, message.routingBytes);
      const id = this.nextId++;
      this.add(id, message, 0);
      this.messages.get(id)!.enqueuedAt = atMs;
      this.sinceSnapshot += message.body.length;
      this.listener?.(id, message);
    }
    this.batchApplied?.(batchId, refused);
  }

  /** A message by id, read back from the body store when not in memory. */
  read(id: number): Message | undefined {
    const m = this.messages.get(id);
    if (!m) return undefined;
    if (m.message) return m.message;
    return m.place && this.bodies ? this.bodies.read(m.place) : undefined;
  }

  /** Raft: snapshot once enough body bytes went through, whatever the entry count, or once idle (idleSnapshotMs). */
  snapshotDue(): boolean {
    if (this.sinceSnapshot >= this.snapshotBytes) return true;
    if (this.idleSnapshotMs === undefined) return false;
    const worth = this.sinceSnapshot >= IDLE_SNAPSHOT_MIN_BYTES || this.entriesSinceSnapshot >= IDLE_SNAPSHOT_MIN_ENTRIES;
    return worth && this.now() - this.lastApplyMs >= this.idleSnapshotMs;
  }

  /**
   * Raft, before snapshot(): every unsettled body gets a place in the body store, made
   * durable, since the snapshot holds places and the log holding the bodies goes.
   */
  async prepareSnapshot(): Promise<void> {
    this.placeAll();
    await this.bodies?.sync();
  }

  snapshot(): Buffer {
    this.sinceSnapshot = 0;
    this.entriesSinceSnapshot = 0;
    this.placeAll();
    return this.encode();
  }

  restore(data: Buffer): void | Promise<void> {
    this.sinceSnapshot = 0;
    this.entriesSinceSnapshot = 0;
    if (data[0] !== MAGIC) return this.restoreInline(data);
    const r = new ByteReader(data, 2, data.length);
    const maker = r.shortstr();
    const bodies = this.bodies;
    if (bodies && maker !== this.node) {
      // Installed from another member: our own copy, if this is a restart after installing it.
      const own = this.startingUp ? bodies.loadInstalled(crc32(data)) : undefined;
      if (own) return this.restore(own);
    }
    const trusted = bodies !== undefined && maker === this.node && this.startingUp;
    this.clear(!trusted);
    this.enqueuers.clear();
    this.nextId = r.u64();
    const n = r.u32();
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = r.u64();
      const deliveryCount = r.u32();
      const size = r.u32();
      const dead = r.u8();
      const kind = r.u8();
      let message: Message | undefined;
      let place: BodyPlace | undefined;
      let expirationMs: number | undefined;
      let priority = NO_PRIORITY;
      if (kind === KIND_INLINE) message = readMessage(r);
      else if (kind === KIND_PLACE) {
        place = { seg: r.u32(), off: r.u32(), len: r.u32() };
        const flags = r.u8();
        expirationMs = flags & PLACE_TTL ? r.u64() : undefined;
        priority = flags & PLACE_PRIORITY ? r.u8() : NO_PRIORITY;
        if (!trusted) {
          place = undefined;
          missing.push(id);
        }
      }
      this.bytes += size;
      if (message) this.keep(id, message, deliveryCount);
      else {
        if (place) bodies?.retain(place);
        this.messages.set(id, { message: undefined, size, deliveryCount, place, expirationMs, priority, dead: 0, enqueuedAt: 0, owner: undefined });
      }
      this.messages.get(id)!.dead = dead;
    }
    this.readSections(r);
    if (trusted) bodies!.collect();
    if (missing.length === 0 || !bodies) return;
    return this.fetchMissing(missing, data);
  }

  /** Answers another member's request for bodies (see body-fetch.ts). */
  serve(ids: number[]): Buffer {
    return encodeServed(ids, (id) => {
      if (this.restoring || id >= this.nextId) return undefined;
      return this.read(id) ?? null;
    });
  }

  // ---- internals ----

  private placeAll(): void {
    const bodies = this.bodies;
    if (bodies) for (const m of this.messages.values()) if (m.message && !m.place) m.place = bodies.write(m.message);
  }

  private add(id: number, message: Message, deliveryCount: number): void {
    this.bytes += message.body.length;
    this.keep(id, message, deliveryCount);
  }

  /** Holds `message` in memory within the budget, else writes it to the body store. */
  private keep(id: number, message: Message, deliveryCount: number): void {
    const size = message.body.length;
    if (this.bodies && this.memoryBytes + size > this.memoryLimit) {
      this.messages.set(id, { message: undefined, size, deliveryCount, place: this.bodies.write(message), expirationMs: message.expirationMs, priority: storedPriority(message), dead: 0, enqueuedAt: 0, owner: undefined });
      return;
    }
    this.memoryBytes += size;
    this.messages.set(id, { message, size, deliveryCount, place: undefined, expirationMs: undefined, priority: NO_PRIORITY, dead: 0, enqueuedAt: 0, owner: undefined });
  }

  /** Gives a message restored without its body the body fetched (in place: the map's order is the queue's). */
  private fill(m: StoredMessage, message: Message): void {
    if (this.bodies && this.memoryBytes + m.size > this.memoryLimit) {
      m.place = this.bodies.write(message);
      m.expirationMs = message.expirationMs;
      m.priority = storedPriority(message);
      return;
    }
    this.memoryBytes += m.size;
    m.message = message;
  }

  private remove(id: number, m: StoredMessage): void {
    this.messages.delete(id);
    this.bytes -= m.size;
    if (m.message) this.memoryBytes -= m.size;
    if (m.place) this.bodies?.release(m.place);
  }

  private clear(wipeBodies: boolean): void {
    this.messages.clear();
    this.bytes = 0;
    this.memoryBytes = 0;
    if (wipeBodies) this.bodies?.clear();
  }

  private encode(): Buffer {
    const w = new ByteWriter(64 * 1024 + this.messages.size * 40 + (this.bodies ? 0 : this.bytes * 2));
    w.u8(MAGIC);
    w.u8(2);
    w.shortstr(this.node);
    w.u64(this.nextId);
    w.u32(this.messages.size);
    for (const [id, m] of this.messages) {
      w.u64(id);
      w.u32(m.deliveryCount);
      w.u32(m.size);
      w.u8(m.dead);
      if (m.place) {
        w.u8(KIND_PLACE);
        w.u32(m.place.seg);
        w.u32(m.place.off);
        w.u32(m.place.len);
        const exp = m.message ? m.message.expirationMs : m.expirationMs;
        const priority = m.message ? storedPriority(m.message) : m.priority;
        // Flags: 1 = TTL follows, 2 = priority follows (older snapshots have only 0 or 1).
        w.u8((exp === undefined ? 0 : PLACE_TTL) | (priority === NO_PRIORITY ? 0 : PLACE_PRIORITY));
        if (exp !== undefined) w.u64(exp);
        if (priority !== NO_PRIORITY) w.u8(priority);
      } else if (m.message) {
        w.u8(KIND_INLINE);
        writeMessage(w, m.message);
      } else w.u8(KIND_NONE);
    }
    this.writeOwnership(w);
    this.enqueuers.write(w);
    return w.take();
  }

  /**
   * Section 1: who holds which message (per owner: node, consumer id, ids) and the enqueue
   * times, as runs over the messages in order (a batch shares one time).
   */
  private writeOwnership(w: ByteWriter): void {
    const byOwner = new Map<string, number[]>();
    for (const [id, m] of this.messages) {
      if (m.owner === undefined) continue;
      const ids = byOwner.get(m.owner);
      if (ids) ids.push(id);
      else byOwner.set(m.owner, [id]);
    }
    w.u8(SECTION_OWNERSHIP);
    const lengthAt = w.pos;
    w.u32(0);
    writeOwnedIds(w, byOwner);
    const runsAt = w.pos;
    w.u32(0);
    let runs = 0;
    let run = 0;
    let at = -1;
    for (const m of this.messages.values()) {
      if (m.enqueuedAt === at) {
        run++;
        continue;
      }
      if (run > 0) {
        w.u32(run);
        w.u64(at);
        runs++;
      }
      at = m.enqueuedAt;
      run = 1;
    }
    if (run > 0) {
      w.u32(run);
      w.u64(at);
      runs++;
    }
    w.buf.writeUInt32BE(runs, runsAt);
    w.buf.writeUInt32BE(w.pos - lengthAt - 4, lengthAt);
  }

  /** The optional sections after a snapshot's messages; unknown tags are skipped. */
  private readSections(r: ByteReader): void {
    while (r.pos < r.end) {
      const tag = r.u8();
      const length = r.u32();
      const end = r.pos + length;
      if (tag === SECTION_OWNERSHIP) {
        for (const { owner, ids } of readOwnedIds(r)) {
          for (const id of ids) {
            const m = this.messages.get(id);
            if (m) m.owner = owner;
          }
        }
        const iter = this.messages.values();
        for (let runs = r.u32(); runs > 0; runs--) {
          const count = r.u32();
          const at = r.u64();
          for (let i = 0; i < count; i++) {
            const m = iter.next().value;
            if (m) m.enqueuedAt = at;
          }
        }
      }
      if (tag === SECTION_ENQUEUERS) this.enqueuers.read(new ByteReader(r.buf, r.pos, end));
      r.pos = end;
    }
  }

  /** The first format: every body inline. */
  private restoreInline(data: Buffer): void {
    const r = new ByteReader(data, 0, data.length);
    this.clear(true);
    this.enqueuers.clear();
    this.nextId = r.u64();
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const id = r.u64();
      const deliveryCount = r.u32();
      this.add(id, readMessage(r), deliveryCount);
    }
  }

  /**
   * Fetches the bodies of an installed snapshot from the other members, a few MiB at a
   * time, into this member's body store. A body another member no longer has was settled
   * by a committed entry this member applies next, so it stays without one. Raft waits
   * (this member neither votes nor acknowledges) until every body is here.
   */
  private async fetchMissing(ids: number[], data: Buffer): Promise<void> {
    this.restoring = true;
    try {
      let pending = ids;
      let failures = 0;
      while (pending.length > 0) {
        const chunks = this.chunks(pending);
        const later: number[] = [];
        let next = 0;
        // A few requests at once (spread over the members by `fetch`): one at a time leaves the link idle.
        const worker = async (): Promise<void> => {
          while (next < chunks.length) {
            const chunk = chunks[next++];
            const fetch = this.fetch;
            if (!fetch) throw new Error('quorum queue member closed while fetching bodies');
            let answer: Buffer;
            try {
              answer = await fetch(chunk);
            } catch {
              later.push(...chunk);
              continue;
            }
            decodeServed(answer, chunk, (id, status, message) => {
              const m = this.messages.get(id);
              if (!m) return;
              if (status === SERVED_BODY && message) this.fill(m, message);
              else if (status !== SERVED_GONE) later.push(id);
            });
          }
        };
        await Promise.all(Array.from({ length: FETCH_PARALLEL }, worker));
        if (later.length > 0) await sleep(Math.min(1000, 50 * ++failures));
        pending = later;
      }
      await this.prepareSnapshot();
      this.bodies!.saveInstalled(crc32(data), this.snapshotOwn());
    } finally {
      this.restoring = false;
    }
  }

  /** `ids` cut into requests of about FETCH_CHUNK_BYTES of bodies. */
  private chunks(ids: number[]): number[][] {
    const out: number[][] = [];
    let chunk: number[] = [];
    let bytes = 0;
    for (const id of ids) {
      const size = this.messages.get(id)?.size ?? 0;
      if (chunk.length > 0 && bytes + size > FETCH_CHUNK_BYTES) {
        out.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(id);
      bytes += size;
    }
    if (chunk.length > 0) out.push(chunk);
    return out;
  }

  /** This member's image of the state with its own places (bodies in memory written out first). */
  private snapshotOwn(): Buffer {
    const since = this.sinceSnapshot;
    const entries = this.entriesSinceSnapshot;
    const out = this.snapshot();
    this.sinceSnapshot = since;
    this.entriesSinceSnapshot = entries;
    return out;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

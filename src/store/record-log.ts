import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../log/logger';
import { crc32 } from './crc32';

const log = logger.child({ module: 'record-log' });
const HEADER_BYTES = 8;

/**
 * A small crash-safe log of opaque records with a snapshot beside it, for metadata.
 * Records are framed as length (u32) | crc32 (u32) | bytes. append() is group-committed:
 * appends made in one event-loop turn share one write and one fsync. rewrite() replaces
 * everything with a snapshot written to a temp file, fsynced and renamed into place, then
 * empties the log. On open, a torn tail is truncated (and logged); a record failing its
 * CRC ends the readable log there (it is reported, never returned).
 */
export class RecordLog {
  private fd: number;
  private batch: Buffer[] = [];
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private scheduled = false;
  /** Records in the log file (not counting the snapshot). */
  logRecords: number;

  private constructor(
    private readonly dir: string,
    private readonly name: string,
    readonly recovered: Buffer[],
    logRecords: number,
  ) {
    this.fd = openSync(join(dir, `${name}.log`), 'a');
    this.logRecords = logRecords;
  }

  static open(dir: string, name: string): RecordLog {
    mkdirSync(dir, { recursive: true });
    const snapshotPath = join(dir, `${name}.snapshot`);
    const logPath = join(dir, `${name}.log`);
    const snapshot = existsSync(snapshotPath) ? readRecords(snapshotPath, false) : { records: [], validBytes: 0 };
    const tail = existsSync(logPath) ? readRecords(logPath, true) : { records: [], validBytes: 0 };
    return new RecordLog(dir, name, [...snapshot.records, ...tail.records], tail.records.length);
  }

  /** Appends a record; resolves once it is on disk. */
  append(record: Buffer): Promise<void> {
    this.batch.push(frame(record));
    this.logRecords++;
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.batch;
    const waiters = this.waiters;
    this.batch = [];
    this.waiters = [];
    let sizeBefore = -1;
    try {
      sizeBefore = fstatSync(this.fd).size;
      const bytes = Buffer.concat(batch);
      for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done);
      fsyncSync(this.fd);
      for (const w of waiters) w.resolve();
    } catch (err) {
      log.error({ err }, 'metadata log write failed');
      // A partial write (ENOSPC) would leave a torn record before the next batch: cut it off.
      this.logRecords -= batch.length;
      if (sizeBefore >= 0) {
        try {
          ftruncateSync(this.fd, sizeBefore);
        } catch (truncateErr) {
          log.error({ err: truncateErr }, 'metadata log could not be cut back after a failed write');
        }
      }
      for (const w of waiters) w.reject(err as Error);
    }
  }

  /** Replaces snapshot and log with `records` (compaction). */
  rewrite(records: Buffer[]): void {
    if (this.batch.length > 0) this.flush();
    const tmp = join(this.dir, `${this.name}.snapshot.tmp`);
    const fd = openSync(tmp, 'w');
    writeSync(fd, Buffer.concat(records.map(frame)));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(this.dir, `${this.name}.snapshot`));
    const dirFd = openSync(this.dir, 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
    ftruncateSync(this.fd, 0);
    fsyncSync(this.fd);
    this.logRecords = 0;
  }

  close(): void {
    if (this.batch.length > 0) this.flush();
    closeSync(this.fd);
  }
}

function frame(record: Buffer): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(record.length, 0);
  header.writeUInt32BE(crc32(record), 4);
  return Buffer.concat([header, record]);
}

function readRecords(path: string, truncateTornTail: boolean): { records: Buffer[]; validBytes: number } {
  const bytes = readFileSync(path);
  const records: Buffer[] = [];
  let pos = 0;
  while (pos + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32BE(pos);
    const end = pos + HEADER_BYTES + length;
    if (end > bytes.length) break;
    const record = bytes.subarray(pos + HEADER_BYTES, end);
    if (crc32(record) !== bytes.readUInt32BE(pos + 4)) {
      log.error({ path, offset: pos }, 'record with a bad CRC: the log is read up to here');
      break;
    }
    records.push(Buffer.from(record));
    pos = end;
  }
  if (pos < bytes.length && truncateTornTail) {
    log.warn({ path, offset: pos, bytes: bytes.length - pos }, 'truncating a torn or damaged tail');
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, pos);
    fsyncSync(fd);
    closeSync(fd);
  }
  return { records, validBytes: pos };
}
